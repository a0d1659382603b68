#!/bin/bash
# FVG_PromptSRC, base-to-new, the whole two-stage pipeline for each seed (default: $SEEDS, 1 2 3):
# PromptSRC on the base classes (stage 1) and its new-class test, then FVG_PromptSRC on top of it and its
# new-class test. Finished jobs are skipped, interrupted ones resumed.
# usage: bash scripts/fvg_promptsrc/base2new.sh DATASET [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-FVG_PromptSRC}
CFG=${CFG:-vit_b16_c2_ep10_batch32_4+4ctx}
SHOTS=${SHOTS:-16}
BACKBONE_TRAINER=${BACKBONE_TRAINER:-PromptSRC}
BACKBONE_CFG=${BACKBONE_CFG:-$CFG}
source "$(dirname "$0")/../lib/bench.sh"
base2new "$@"
