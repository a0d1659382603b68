#!/bin/bash
# PromptSRC: evaluate the $SOURCE-trained model (last saved epoch) on all classes of DATASET.
# Run folder: $OUTPUT/xd/test/DATASET/shots_$SHOTS/$TRAINER/$CFG/seedSEED.
# usage: bash scripts/promptsrc/xd_test.sh DATASET SEED
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-PromptSRC}
CFG=${CFG:-vit_b16_c2_ep10_batch32_4+4ctx}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
xd_test "$@"
