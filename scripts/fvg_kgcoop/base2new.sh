#!/bin/bash
# FVG_KgCoOp, base-to-new, the whole two-stage pipeline for each seed (default: $SEEDS, 1 2 3):
# KgCoOp on the base classes (stage 1) and its new-class test, then FVG_KgCoOp on top of it and its
# new-class test. Finished jobs are skipped, interrupted ones resumed.
# usage: bash scripts/fvg_kgcoop/base2new.sh DATASET [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-FVG_KgCoOp}
CFG=${CFG:-vit_b16_c4_ep10_batch4_ctxv1}
SHOTS=${SHOTS:-16}
BACKBONE_TRAINER=${BACKBONE_TRAINER:-KgCoOp}
BACKBONE_CFG=${BACKBONE_CFG:-$CFG}
source "$(dirname "$0")/../lib/bench.sh"
base2new "$@"
