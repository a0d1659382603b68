#!/bin/bash
# CoOp, base-to-new: evaluate the base-trained model (last saved epoch) on the new classes
# (SUB=base: on the base classes). Run folder: $OUTPUT/base2new/test_$SUB/... (same tail as train_base).
# usage: bash scripts/coop/base2new_test.sh DATASET SEED
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-CoOp}
CFG=${CFG:-vit_b16_c4_ep10_batch4}
SHOTS=${SHOTS:-16}
source "$(dirname "$0")/../lib/bench.sh"
base2new_test "$@"
