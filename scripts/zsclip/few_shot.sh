#!/bin/bash
# Zero-shot CLIP, the 0-shot point of the few-shot protocol: evaluate on all classes of DATASET.
# Run folder: $OUTPUT/fewshot/DATASET/shots_0/$TRAINER/$CFG/seedS (seed default 1).
# usage: bash scripts/zsclip/few_shot.sh DATASET [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-ZeroshotCLIP}
CFG=${CFG:-vit_b16}
source "$(dirname "$0")/../lib/bench.sh"
zeroshot_few_shot "$@"
