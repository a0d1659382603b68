#!/bin/bash
# KgCoOp, few-shot: train on all classes of DATASET with each shot count in $SHOTS (1 2 4 8 16)
# and each seed (default: $SEEDS, 1 2 3). Run folders: $OUTPUT/fewshot/DATASET/shots_K/$TRAINER/$CFG/seedS.
# usage: bash scripts/kgcoop/few_shot.sh DATASET [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-KgCoOp}
CFG=${CFG:-vit_b16_c4_ep10_batch4_ctxv1}
SHOTS=${SHOTS:-1 2 4 8 16}
source "$(dirname "$0")/../lib/bench.sh"
few_shot "$@"
