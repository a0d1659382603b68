#!/bin/bash
# FVG_PromptSRC: evaluate the $SOURCE-trained model (last saved epoch) on all classes of DATASET.
# Run folder: $OUTPUT/xd/test/DATASET/shots_$SHOTS/$TRAINER/$CFG/seedSEED.
# It builds on the matching PromptSRC run (same layout, $BACKBONE_CFG); when that is missing it prints the command to run first.
# usage: bash scripts/fvg_promptsrc/xd_test.sh DATASET SEED
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-FVG_PromptSRC}
CFG=${CFG:-vit_b16_c2_ep10_batch32_4+4ctx}
SHOTS=${SHOTS:-16}
BACKBONE_TRAINER=${BACKBONE_TRAINER:-PromptSRC}
BACKBONE_CFG=${BACKBONE_CFG:-$CFG}
source "$(dirname "$0")/../lib/bench.sh"
xd_test "$@"
