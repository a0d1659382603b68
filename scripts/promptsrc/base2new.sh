#!/bin/bash
# PromptSRC, base-to-new: base2new_train.sh then base2new_test.sh for each seed (default: $SEEDS, 1 2 3).
# usage: bash scripts/promptsrc/base2new.sh DATASET [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-PromptSRC}
CFG=${CFG:-vit_b16_c2_ep10_batch32_4+4ctx}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
base2new "$@"
