#!/bin/bash
# PromptSRC, base-to-new: evaluate the base-trained model (last saved epoch) on the new classes
# (SUB=base: on the base classes). Run folder: $OUTPUT/base2new/test_$SUB/... (same tail as train_base).
# usage: bash scripts/promptsrc/base2new_test.sh DATASET SEED
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-PromptSRC}
CFG=${CFG:-vit_b16_c2_ep10_batch32_4+4ctx}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
base2new_test "$@"
