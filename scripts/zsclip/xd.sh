#!/bin/bash
# Zero-shot CLIP, cross-dataset: evaluate on all classes of $SOURCE (ImageNet) and each of $XD_TARGETS.
# Run folders: $OUTPUT/xd/test/DATASET/shots_0/$TRAINER/$CFG/seedS (seed default 1).
# usage: bash scripts/zsclip/xd.sh [SEED ...]
# Other settings (OUTPUT, EXTRA_OPTS, PYTHON, ...) and the run layout: scripts/lib/bench.sh.
DATA=${DATA:-/path/to/datasets}
TRAINER=${TRAINER:-ZeroshotCLIP}
CFG=${CFG:-vit_b16}
source "$(dirname "$0")/../lib/bench.sh"
zeroshot_xd "$@"
