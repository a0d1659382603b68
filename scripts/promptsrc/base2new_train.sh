#!/bin/bash
# PromptSRC, base-to-new: train on the base classes of DATASET ($SHOTS shots per class) with seed SEED.
# Run folder: $OUTPUT/base2new/train_base/DATASET/shots_$SHOTS/$TRAINER/$CFG/seedSEED.
# usage: bash scripts/promptsrc/base2new_train.sh DATASET SEED
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-PromptSRC}
CFG=${CFG:-vit_b16_c2_ep10_batch32_4+4ctx}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
base2new_train "$@"
