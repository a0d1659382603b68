#!/bin/bash
# Zero-shot CLIP, base-to-new: evaluate on the base and on the new classes of DATASET.
# Run folders: $OUTPUT/base2new/test_{base,new}/DATASET/shots_0/$TRAINER/$CFG/seedS (seed default 1;
# zero-shot CLIP is deterministic, the seed only names the folder).
# usage: bash scripts/zsclip/base2new.sh DATASET [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-ZeroshotCLIP}
CFG=${CFG:-vit_b16}
source "$(dirname "$0")/../lib/bench.sh"
zeroshot_base2new "$@"
