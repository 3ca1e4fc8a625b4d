#!/usr/bin/env bash
# Makes .gpu/ (git-ignored through .git/info/exclude) for bench/gpu_finetune.sh, on a machine with the
# package registries: cp312 wheels of what the GPU machine lacks (pydantic for japagen_core.tasks;
# fugashi + IPADIC, 13 MB, for the MeCab tokenizer: unidic-lite is too big to carry) and the gold pairs
# the benchmark trains on (../shared/data/gold does not travel). About 20 MB. Run from the repo root:
#
#   bash bench/gpu_prepare.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}  # builds IPADIC's wheel (needs setuptools >= 70, which has bdist_wheel)
mkdir -p .gpu/wheels .gpu/gold/jglue "$(git rev-parse --git-common-dir)/info"
exclude="$(git rev-parse --git-common-dir)/info/exclude"
grep -qx "/.gpu/" "$exclude" 2>/dev/null || echo "/.gpu/" >>"$exclude"
versions=$($PY - <<'EOF'
import importlib.metadata as m
names = ["pydantic", "pydantic_core", "annotated-types", "typing-inspection", "typing_extensions", "fugashi"]
print(" ".join(f"{n}=={m.version(n)}" for n in names))
EOF
)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .gpu/wheels $versions
if ! ls .gpu/wheels/ipadic-*.whl >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    python3 -m pip download -q --no-deps --no-binary=:all: -d "$tmp" ipadic==1.0.0
    $PY -m pip wheel -q --no-deps --no-build-isolation -w .gpu/wheels "$tmp"/ipadic-1.0.0.tar.gz
    rm -rf "$tmp"
fi
GOLD=${GOLD:-../shared/data/gold}
cp "$GOLD"/jglue/LICENSE "$GOLD"/jglue/jnli-v1.3_valid-v1.3.json "$GOLD"/jglue/jsts-v1.3_train-v1.3.json .gpu/gold/jglue/
du -sh .gpu
ls .gpu/wheels
