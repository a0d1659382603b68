#!/bin/bash
# CoOp, cross-dataset and domain generalisation: train on all classes of $SOURCE (ImageNet),
# $SHOTS shots per class. Run folder: $OUTPUT/xd/train/$SOURCE/shots_$SHOTS/$TRAINER/$CFG/seedSEED.
# usage: bash scripts/coop/xd_train.sh SEED
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-CoOp}
CFG=${CFG:-vit_b16_c4_ep10_batch4}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
xd_train "$@"
