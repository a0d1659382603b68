#!/usr/bin/env bash
# The base-to-new benchmark end to end on a CPU, with the benchmark scripts themselves: the synthetic
# dataset, a tiny CLIP (3 layers per tower, briefly aligned with the data as a stand-in for CLIP's
# pre-training), zero-shot CLIP and every FVG pipeline (CoOp, KgCoOp, PromptSRC as stage 1, then their
# FVG stages) for the seeds in $SEEDS, then the results table, CSV and plot. Trainers not on this
# checkout are skipped with a note. Runs already finished are skipped, so it can be re-run to resume.
# usage: bash scripts/synthetic_benchmark.sh        (SEEDS="1 2 3" bash ... for three seeds)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
export PYTHONWARNINGS=ignore

export DATA=data CFG=tiny_cpu SHOTS=8 OUTPUT=output/synthetic_benchmark PYTHON=python
SEEDS=${SEEDS:-1 2}
EPOCHS=${EPOCHS:-10}
CLIP=checkpoints/tiny_clip_3layers.pt
LOGS=$OUTPUT/script_logs

echo "== data and tiny CLIP"
python -m fvgpt.data.synthetic --root "$DATA"
[ -f "$CLIP" ] || python -m fvgpt.tiny_clip "$CLIP" --layers 3 --pretrain-on "$DATA/synthetic"
export EXTRA_OPTS="MODEL.BACKBONE.NAME $CLIP OPTIM.MAX_EPOCH $EPOCHS"
mkdir -p "$LOGS"

registered=$(python -c "import trainers; from dassl.engine import TRAINER_REGISTRY as R; print(*R.registered_names())")
step() {  # TRAINER SCRIPT ARG...: run a benchmark script quietly, showing its job lines (all of it on failure)
    local trainer=$1 script=$2
    shift 2
    if [[ " $registered " != *" $trainer "* ]]; then
        echo "== $trainer is not on this checkout: skipped"
        return 0
    fi
    local log=$LOGS/${script//\//_}.log
    echo "== bash $script $*"
    if ! bash "$script" "$@" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "synthetic_benchmark: $script failed (full output: $log)" >&2
        exit 1
    fi
    grep -E '^\[(train|eval|skip|resume|restart)\]' "$log" || true
}

step ZeroshotCLIP scripts/zsclip/base2new.sh synthetic 1
for fvg in FVG_CoOp FVG_KgCoOp FVG_PromptSRC; do
    # shellcheck disable=SC2086  # SEEDS is a list
    step "$fvg" "scripts/${fvg,,}/base2new.sh" synthetic $SEEDS  # runs its baseline (stage 1) first
done

echo
echo "== results (synthetic, $SHOTS shots, seeds $SEEDS)"
# shellcheck disable=SC2086
python -m fvgpt.results base2new "$OUTPUT/base2new" --seeds $SEEDS --csv "$OUTPUT/base2new.csv" --png "$OUTPUT/base2new.png"
