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

run() {  # trainer, base run dir, new run dir, extra opts...
    local trainer=$1 base=$2 new=$3
    shift 3
    echo "== $trainer: train on base classes -> $base"
    python train.py "${COMMON[@]}" --trainer "$trainer" --config-file "configs/trainers/$trainer/tiny_cpu.yaml" \
        --output-dir "$base" "${OPTS[@]}" DATASET.SUBSAMPLE_CLASSES base "$@" | grep -E "^(epoch|\* accuracy|FVG eval|Finish)|skipping"
    echo "== $trainer: evaluate on new classes -> $new"
    python train.py "${COMMON[@]}" --trainer "$trainer" --config-file "configs/trainers/$trainer/tiny_cpu.yaml" \
        --output-dir "$new" --eval-only --model-dir "$base" --load-epoch "$EPOCHS" \
        "${OPTS[@]}" DATASET.SUBSAMPLE_CLASSES new "$@" | grep -E "^(\* accuracy|FVG eval)"
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
