#!/usr/bin/env bash
# Set up (or reuse) .venv, then run the whole test suite on the CPU. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
exec python -m pytest tests "$@"
