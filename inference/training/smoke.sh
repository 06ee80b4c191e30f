#!/usr/bin/env bash
# Smoke check of the training recipe, meant for the GPU machine (works on CPU too).
# Run from anywhere (usually the repository root):  bash inference/training/smoke.sh
# Prints versions and the GPU, runs the unit tests, then a smoke training run (tiny random
# model, synthetic data; --bf16 when CUDA is available). Results go to "$OUT/aoi-train-smoke"
# (a fresh temporary folder when $OUT is unset). Exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-python3}"
OUT_ROOT="${OUT:-$(mktemp -d)}/aoi-train-smoke"
mkdir -p "$OUT_ROOT"
export PYTHONDONTWRITEBYTECODE=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
SECONDS=0

echo "== versions"
"$PY" - <<'PY'
import platform, torch, transformers, peft
print(f"python {platform.python_version()}  torch {torch.__version__}  transformers {transformers.__version__}  peft {peft.__version__}")
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"gpu {p.name}  {p.total_memory / 2**30:.0f} GiB  bf16={torch.cuda.is_bf16_supported()}")
else:
    print("gpu none (CPU run)")
PY

echo "== unit tests"
"$PY" -m pytest -q -p no:cacheprovider "$HERE/tests" --junitxml "$OUT_ROOT/pytest.xml"
echo "tests took ${SECONDS}s"

echo "== smoke training"
BF16=()
if "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then BF16=(--bf16); fi
T0=$SECONDS
(cd "$HERE" && "$PY" -m aoi_train.train --smoke --overwrite --out "$OUT_ROOT/run" "${BF16[@]}") \
  2>&1 | tee "$OUT_ROOT/smoke.log"
echo "smoke training took $((SECONDS - T0))s; total ${SECONDS}s; results in $OUT_ROOT"
