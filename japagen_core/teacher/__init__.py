"""Teachers (Kaddour & Liu): an LLM fine-tuned on the few gold examples before it generates or annotates.

    trainfile.py    the chat-format training file, built from the same prompt specs generation uses
    openai_tune.py  fine-tuning through the OpenAI API (files + fine_tuning.jobs), followed as a job
    local_tune.py   LoRA fine-tuning (peft) of a local causal LM; saves an adapter the local backend loads
    registry.py     the ``teachers`` table: what was tuned, on which data, and the resulting model
    service.py      preparing, submitting and running teacher jobs; the run settings of a teacher

Nothing here imports torch at import time except ``local_tune`` (import it only in a job process).
"""
