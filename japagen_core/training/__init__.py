"""Fine-tuning and evaluation (paper §4.1): a BERT student trained on synthetic, gold or mixed data,
the PROMPTING baseline, and the Table 1 / Figure 3 results.

    config.py     the hyperparameters (the paper's defaults) and the Table 1 rows
    data.py       training-data choices, exact seeded sampling, targets
    evaluate.py   metrics: pure functions over predictions
    plan.py       what a submitted request trains on: snapshots taken at submit time
    finetune.py   the Trainer run of one model (imports torch / transformers: load it lazily)
    callbacks.py  the Trainer's cancel and progress callbacks, shared with the local LoRA teacher
    weights.py    whether a model's weights and tokenizer are on this machine (before a job is submitted)
    prompting.py  the LLM classifies the gold test split zero- or few-shot
    store.py      models, evaluations and per-example predictions in DuckDB
    results.py    Table 1, Figure 3 and their Markdown / LaTeX / CSV exports

Importing this package (or any module but finetune and callbacks) does not import torch.
"""
