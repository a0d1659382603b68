#!/bin/bash
# FVG_PromptSRC, few-shot: train on all classes of DATASET with each shot count in $SHOTS (1 2 4 8 16)
# and each seed (default: $SEEDS, 1 2 3). Run folders: $OUTPUT/fewshot/DATASET/shots_K/$TRAINER/$CFG/seedS.
# It builds on the matching PromptSRC run (same layout, $BACKBONE_CFG); when that is missing it prints the command to run first.
# usage: bash scripts/fvg_promptsrc/few_shot.sh DATASET [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-FVG_PromptSRC}
CFG=${CFG:-vit_b16_c2_ep10_batch32_4+4ctx}
SHOTS=${SHOTS:-1 2 4 8 16}
BACKBONE_TRAINER=${BACKBONE_TRAINER:-PromptSRC}
BACKBONE_CFG=${BACKBONE_CFG:-$CFG}
source "$(dirname "$0")/../lib/bench.sh"
few_shot "$@"
