#!/bin/bash
# KgCoOp, base-to-new: train on the base classes of DATASET ($SHOTS shots per class) with seed SEED.
# Run folder: $OUTPUT/base2new/train_base/DATASET/shots_$SHOTS/$TRAINER/$CFG/seedSEED.
# usage: bash scripts/kgcoop/base2new_train.sh DATASET SEED
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-KgCoOp}
CFG=${CFG:-vit_b16_c4_ep10_batch4_ctxv1}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
base2new_train "$@"
