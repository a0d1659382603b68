#!/bin/bash
# KgCoOp, domain generalisation: xd_train.sh, then xd_test.sh on each of $DG_TARGETS (ImageNetV2,
# -Sketch, -A, -R), for each seed (default: $SEEDS, 1 2 3).
# usage: bash scripts/kgcoop/dg.sh [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-KgCoOp}
CFG=${CFG:-vit_b16_c4_ep10_batch4_ctxv1}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
dg "$@"
