#!/usr/bin/env bash
# Create or reuse the repository's virtual environment (.venv) with everything installed.
# Sourced by scripts/test.sh and scripts/demo.sh. Override the torch install with
# TORCH_SPEC (default: the CPU/CUDA wheels pinned below) and the interpreter with PYTHON.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1 torchvision==0.29.1}"
STAMP="$VENV/.fvgpt-installed"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating $VENV"
    "$PY" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch, torchvision" >/dev/null 2>&1; then
    echo "[setup] installing $TORCH_SPEC"
    "$VENV/bin/python" -m pip install -q $TORCH_SPEC
fi
if [ ! -f "$STAMP" ] || [ "$ROOT/setup.py" -nt "$STAMP" ]; then
    echo "[setup] installing fvgpt and its dependencies"
    "$VENV/bin/python" -m pip install -q "setuptools<81"
    "$VENV/bin/python" -m pip install -q -e "$ROOT[test]"
    touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
