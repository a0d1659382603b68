#!/usr/bin/env bash
# The main job, end to end on a CPU in a few minutes: generate the synthetic dataset,
# build a tiny CLIP (aligned with the data as a stand-in for CLIP's pre-training),
# train CoOp on the base classes (stage 1), train FVG_CoOp on top of it (stage 2),
# evaluate both on base and new classes, and print a base / new / HM table.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
export PYTHONWARNINGS=ignore

DATA=data
CLIP=checkpoints/tiny_clip.pt
DATASET=synthetic
SHOTS=8
SEED=1
EPOCHS=10
OUT=output/demo/base2new

echo "== data and tiny CLIP"
python -m fvgpt.data.synthetic --root "$DATA"
[ -f "$CLIP" ] || python -m fvgpt.tiny_clip "$CLIP" --pretrain-on "$DATA/$DATASET"

COMMON=(--root "$DATA" --seed "$SEED" --dataset-config-file "configs/datasets/$DATASET.yaml")
OPTS=(MODEL.BACKBONE.NAME "$CLIP" DATASET.NUM_SHOTS "$SHOTS" OPTIM.MAX_EPOCH "$EPOCHS")

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

train() {  # run train.py quietly; show the lines that matter, or the whole tail when it fails
    local show=$1
    shift
    if ! python train.py "$@" >"$LOG" 2>&1; then
        tail -n 40 "$LOG"
        echo "demo: train.py failed (command: python train.py $*)" >&2
        exit 1
    fi
    grep -E "$show" "$LOG" || true
}

run() {  # trainer, base run dir, new run dir, extra opts...
    local trainer=$1 base=$2 new=$3
    shift 3
    local cfg=(--trainer "$trainer" --config-file "configs/trainers/$trainer/tiny_cpu.yaml")
    echo "== $trainer: train on the base classes -> $base"
    train "^(epoch \[[0-9]+/[0-9]+\] batch \[([0-9]+)/\2\]|\* accuracy|FVG eval)|skipping" \
        "${COMMON[@]}" "${cfg[@]}" --output-dir "$base" "${OPTS[@]}" DATASET.SUBSAMPLE_CLASSES base "$@"
    echo "== $trainer: evaluate on the new classes -> $new"
    train "^(\* accuracy|FVG eval)" "${COMMON[@]}" "${cfg[@]}" --output-dir "$new" \
        --eval-only --model-dir "$base" --load-epoch "$EPOCHS" "${OPTS[@]}" DATASET.SUBSAMPLE_CLASSES new "$@"
}

COOP_BASE=$OUT/train_base/$DATASET/shots_$SHOTS/CoOp/tiny_cpu/seed$SEED
COOP_NEW=$OUT/test_new/$DATASET/shots_$SHOTS/CoOp/tiny_cpu/seed$SEED
FVG_BASE=$OUT/train_base/$DATASET/shots_$SHOTS/FVG_CoOp/tiny_cpu/seed$SEED
FVG_NEW=$OUT/test_new/$DATASET/shots_$SHOTS/FVG_CoOp/tiny_cpu/seed$SEED

run CoOp "$COOP_BASE" "$COOP_NEW"
run FVG_CoOp "$FVG_BASE" "$FVG_NEW" TRAINER.FVG.BACKBONE_DIR "$COOP_BASE"

echo
echo "== results ($DATASET, $SHOTS shots, seed $SEED)"
python -m fvgpt.results "CoOp=$COOP_BASE,$COOP_NEW" "FVG_CoOp=$FVG_BASE,$FVG_NEW"
