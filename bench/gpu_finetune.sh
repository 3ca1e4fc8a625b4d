#!/usr/bin/env bash
# The fine-tuning benchmark (bench/finetune.py) on a GPU machine without internet, in one call from the
# repo root (../shared/reference/gpu-recipe.md: its python3 has torch, transformers, accelerate, pandas,
# scikit-learn, but no pydantic, fugashi or a MeCab dictionary, and no package registry):
#
#   bash bench/gpu_finetune.sh          # carry .gpu (wheels and gold pairs: bench/gpu_prepare.sh makes it)
#
# Installs the carried wheels that are missing (~15 s), then runs bert-base on cuda: japagen's path (the
# seeds side by side) against run_glue's defaults (the seeds one after another). Writes $OUT/finetune.json
# (the --json object) and $OUT/finetune.log. EXAMPLES (training pairs per model, default 6400) and
# SEEDS (default 5) size it: the defaults take about 3-5 minutes on one H200.
set -uo pipefail
OUT=${OUT:-/tmp/japagen-gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
SITE=/tmp/japagen-site
wheels=()
need() {  # need <python import test> <wheel glob>...: add the wheels when the import fails
    local test=$1
    shift
    python3 -c "$test" 2>/dev/null || wheels+=("$@")
}
need "from typing_extensions import Sentinel" .gpu/wheels/typing_extensions-*.whl
need "import pydantic, pydantic_core, annotated_types, typing_inspection" \
    .gpu/wheels/pydantic-*.whl .gpu/wheels/pydantic_core-*.whl .gpu/wheels/annotated_types-*.whl \
    .gpu/wheels/typing_inspection-*.whl
need "import fugashi" .gpu/wheels/fugashi-*.whl
need "import ipadic" .gpu/wheels/ipadic-*.whl
if ((${#wheels[@]})); then
    echo "installing ${#wheels[@]} carried wheel(s): ${wheels[*]}"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        "${wheels[@]}" || exit 1
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"  # the workers (spawned) inherit it
fi
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__,
      torch.cuda.get_device_name(0), 'cores', len(__import__('os').sched_getaffinity(0)))"
nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv,noheader
GOLD=.gpu/gold
[ -d "$GOLD" ] || GOLD=../shared/data/gold
timeout 480 python3 bench/finetune.py --size base --device cuda --json --gold "$GOLD" \
    --examples "${EXAMPLES:-6400}" --seeds "${SEEDS:-5}" --repeat 2 \
    >"$OUT/finetune.json" 2> >(tee "$OUT/finetune.log" >&2)
status=$?
echo "bench exit status $status"
cat "$OUT/finetune.json"
exit $status
