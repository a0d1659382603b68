#!/bin/bash
# PromptSRC, cross-dataset transfer: xd_train.sh, then xd_test.sh on each of $XD_TARGETS (the 10 datasets
# other than ImageNet), for each seed (default: $SEEDS, 1 2 3).
# usage: bash scripts/promptsrc/xd.sh [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-PromptSRC}
CFG=${CFG:-vit_b16_c2_ep10_batch32_4+4ctx}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
xd "$@"
