#!/usr/bin/env bash
# The fine-tuning benchmark (bench/finetune.py) on a GPU machine without internet, in one call from the
# repo root (../shared/reference/gpu-recipe.md: its python3 has torch, transformers, accelerate, pandas,
# scikit-learn, but no pydantic, fugashi or a MeCab dictionary, and no package registry):
#
#   bash bench/gpu_finetune.sh          # carry .gpu (wheels and gold pairs: bench/gpu_prepare.sh makes it)
#
# Installs the carried wheels that are missing (~15 s), then runs bert-base on cuda: japagen's path (the
# seeds side by side) against run_glue's defaults (the seeds one after another). Writes $OUT/finetune.json
# (the --json object) and $OUT/finetune.log (the printed figures). EXAMPLES (training pairs per model, default 6400) and
# SEEDS (default 5) size it: the defaults take about 3-5 minutes on one H200. A dry run here on the CPU:
#   PY=.venv/bin/python DEVICE=cpu SIZE=tiny EXAMPLES=64 SEEDS=2 bash bench/gpu_finetune.sh
set -uo pipefail
OUT=${OUT:-/tmp/japagen-gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-python3}
SITE=/tmp/japagen-site
wheels=()
need() {  # need <python import test> <wheel glob>...: add the wheels when the import fails
    local test=$1
    shift
    $PY -c "$test" 2>/dev/null || wheels+=("$@")
}
need "from typing_extensions import Sentinel" .gpu/wheels/typing_extensions-*.whl
need "import pydantic, pydantic_core, annotated_types, typing_inspection" \
    .gpu/wheels/pydantic-*.whl .gpu/wheels/pydantic_core-*.whl .gpu/wheels/annotated_types-*.whl \
    .gpu/wheels/typing_inspection-*.whl
need "import fugashi" .gpu/wheels/fugashi-*.whl
need "import ipadic" .gpu/wheels/ipadic-*.whl
if ((${#wheels[@]})); then
    echo "installing ${#wheels[@]} carried wheel(s): ${wheels[*]}"
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        "${wheels[@]}" || exit 1
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"  # the workers (spawned) inherit it
fi
$PY -c "import os, torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__,
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU', 'cores', len(os.sched_getaffinity(0)))"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader
GOLD=.gpu/gold
[ -d "$GOLD" ] || GOLD=../shared/data/gold
timeout 480 $PY bench/finetune.py --size "${SIZE:-base}" --device "${DEVICE:-cuda}" --gold "$GOLD" \
    --examples "${EXAMPLES:-6400}" --seeds "${SEEDS:-5}" --repeat 2 --out "$OUT/finetune.json" 2>&1 |
    grep -v -e "^{'" -e "Loading weights" -e "Writing model shards" | tee "$OUT/finetune.log"
status=${PIPESTATUS[0]}
echo "bench exit status $status"
cat "$OUT/finetune.json"
exit $status
