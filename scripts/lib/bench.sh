# Shared logic of the benchmark scripts under scripts/<trainer>/; sourced, never run on its own.
#
# The calling script sets DATA, TRAINER, CFG and SHOTS (each overridable from the environment); an
# FVG script also sets BACKBONE_TRAINER and BACKBONE_CFG (its stage 1). It then calls one protocol
# function below with its command-line arguments. Further environment knobs [defaults]:
#   OUTPUT [output]       root of the run folders
#   EXTRA_OPTS []         KEY VALUE config overrides appended to every train.py call (split on blanks)
#   PYTHON [python]       interpreter that runs train.py
#   SEEDS [1 2 3]         seeds of the multi-job scripts when none are given as arguments
#   SUB [new]             class half evaluated by base2new_test.sh (new or base)
#   SOURCE [imagenet]     training set of the cross-dataset and domain-generalisation protocols
#   XD_TARGETS            cross-dataset targets [the 10 datasets other than ImageNet]
#   DG_TARGETS            domain-generalisation targets [imagenetv2 imagenet_sketch imagenet_a imagenet_r]
#   LOADEP [last saved]   epoch that evaluation jobs load
#   DATASET_CONFIG_DIR [configs/datasets]  where <dataset>.yaml is read
# Relative DATA and OUTPUT paths are taken from the repository root, as in CoOp's scripts.
#
# Layout (CoCoOp's for base-to-new, the same shape for the other protocols):
#   $OUTPUT/base2new/{train_base,test_new,test_base}/<dataset>/shots_<K>/<TRAINER>/<CFG>/seed<S>
#   $OUTPUT/xd/train/<SOURCE>/shots_<K>/...   and   $OUTPUT/xd/test/<target>/shots_<K>/...
#   $OUTPUT/fewshot/<dataset>/shots_<K>/...
# Zero-shot CLIP runs use shots_0. A training job whose folder holds a finished run (a log with
# "Finish training") is skipped; one with a checkpoint but no finish marker is resumed (Dassl resumes
# from the output folder); an evaluation job whose folder holds an accuracy is skipped.

set -euo pipefail

BENCH_SCRIPT=$0
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$BENCH_ROOT"

OUTPUT=${OUTPUT:-output}
PYTHON=${PYTHON:-python}
SEEDS=${SEEDS:-1 2 3}
SOURCE=${SOURCE:-imagenet}
XD_TARGETS=${XD_TARGETS:-caltech101 oxford_pets stanford_cars oxford_flowers food101 fgvc_aircraft sun397 dtd eurosat ucf101}
DG_TARGETS=${DG_TARGETS:-imagenetv2 imagenet_sketch imagenet_a imagenet_r}
DATASET_CONFIG_DIR=${DATASET_CONFIG_DIR:-configs/datasets}
BACKBONE_TRAINER=${BACKBONE_TRAINER:-}
read -r -a BENCH_EXTRA <<<"${EXTRA_OPTS:-}"

die() {
    echo "error: $*" >&2
    exit 1
}

usage() {  # the calling script's header comment, then exit with $1
    sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$BENCH_SCRIPT" >&2
    exit "${1:-2}"
}

need_args() {  # MIN MAX ARG... : check the argument count of the calling script
    local min=$1 max=$2
    shift 2
    case "${1:-}" in -h | --help) usage 0 ;; esac
    if [ "$#" -lt "$min" ] || { [ "$max" -ge 0 ] && [ "$#" -gt "$max" ]; }; then
        usage 2
    fi
}

one_shot_count() {
    [[ $SHOTS =~ ^[0-9]+$ ]] || die "SHOTS must be one number for this protocol, got '$SHOTS'"
}

# ------------------------------------------------------------------------------------ layout and state
run_dir() {  # PROTOCOL_PATH TRAINER CFG SEED
    echo "$OUTPUT/$1/$2/$3/seed$4"
}

finished_training() {  # DIR: a log in DIR ends a training ("Finish training", or "Finished training")
    grep -qsxE '[[:space:]]*Finish(ed)? training[[:space:]]*' "$1"/log.txt*
}

has_accuracy() {  # DIR: a log in DIR holds a test result
    grep -qsE '^\* accuracy: ' "$1"/log.txt*
}

last_epoch() {  # DIR: the highest epoch with a saved checkpoint in DIR (empty when none)
    local f best=
    for f in "$1"/*/model.pth.tar-*; do
        [ -e "$f" ] || continue
        f=${f##*-}
        if [[ $f =~ ^[0-9]+$ ]] && { [ -z "$best" ] || [ "$f" -gt "$best" ]; }; then best=$f; fi
    done
    echo "$best"
}

script_dir_of() {  # TRAINER: its folder under scripts/
    case "$1" in
        ZeroshotCLIP) echo scripts/zsclip ;;
        *) echo "scripts/${1,,}" ;;
    esac
}

command_for() {  # TRAINER CFG SCRIPT ARG... : the exact command line that runs SCRIPT of TRAINER's scripts
    local trainer=$1 cfg=$2 script=$3
    shift 3
    local env=("DATA=$DATA" "TRAINER=$trainer" "CFG=$cfg" "SHOTS=$SHOTS" "OUTPUT=$OUTPUT")
    [ "$SOURCE" = imagenet ] || env+=("SOURCE=$SOURCE")
    [ "$PYTHON" = python ] || env+=("PYTHON=$PYTHON")
    [ "$DATASET_CONFIG_DIR" = configs/datasets ] || env+=("DATASET_CONFIG_DIR=$DATASET_CONFIG_DIR")
    [ -z "${EXTRA_OPTS:-}" ] || env+=("EXTRA_OPTS=$EXTRA_OPTS")
    printf '%q ' "${env[@]}"
    printf 'bash %s/%s' "$(script_dir_of "$trainer")" "$script"
    printf ' %q' "$@"
    echo
}

require_finished() {  # DIR WHAT TRAINER CFG SCRIPT ARG... : fail with the command that produces DIR
    local dir=$1 what=$2
    shift 2
    finished_training "$dir" && return 0
    {
        if [ -d "$dir" ]; then
            echo "error: $what is not finished: $dir holds no finished training run (the command resumes it)."
        else
            echo "error: $what not found: $dir does not exist."
        fi
        echo "Run this first (from the repository root $BENCH_ROOT):"
        echo "  $(command_for "$@")"
    } >&2
    exit 1
}

# ------------------------------------------------------------------------------------------ jobs
train_py() {  # TRAINER CFG DATASET SEED FLAGS_AND_OPTS... : one train.py call (flags before KEY VALUE pairs)
    local trainer=$1 cfg=$2 dataset=$3 seed=$4
    shift 4
    "$PYTHON" train.py --root "$DATA" --seed "$seed" --trainer "$trainer" \
        --dataset-config-file "$DATASET_CONFIG_DIR/$dataset.yaml" \
        --config-file "configs/trainers/$trainer/$cfg.yaml" "$@" ${BENCH_EXTRA[@]+"${BENCH_EXTRA[@]}"}
}

train_job() {  # DIR TRAINER CFG DATASET SEED [KEY VALUE ...]
    local dir=$1 ep
    shift
    if finished_training "$dir"; then
        echo "[skip] $dir already holds a finished run"
        return 0
    fi
    ep=$(last_epoch "$dir")
    if [ -n "$ep" ]; then
        echo "[resume] $dir holds an unfinished run with a checkpoint of epoch $ep: resuming it"
    elif [ -d "$dir" ]; then
        echo "[restart] $dir holds an unfinished run without a checkpoint: training from the start (old logs are kept)"
    else
        echo "[train] $dir"
    fi
    train_py "$1" "$2" "$3" "$4" --output-dir "$dir" "${@:5}"
}

eval_job() {  # DIR MODEL_DIR TRAINER CFG DATASET SEED [KEY VALUE ...]  (MODEL_DIR "": zero-shot)
    local dir=$1 model_dir=$2 load=()
    shift 2
    if has_accuracy "$dir"; then
        echo "[skip] $dir already holds a result"
        return 0
    fi
    if [ -n "$model_dir" ]; then
        load=(--model-dir "$model_dir" --load-epoch "${LOADEP:-$(last_epoch "$model_dir")}")
    fi
    echo "[eval] $dir"
    train_py "$1" "$2" "$3" "$4" --output-dir "$dir" --eval-only ${load[@]+"${load[@]}"} "${@:5}"
}

# ------------------------------------------------------------------------------------- FVG stage 1
# For an FVG trainer, STAGE1_OPTS points the FVG stage at the baseline run it builds on (same layout,
# BACKBONE_TRAINER and BACKBONE_CFG in place of TRAINER and CFG); it is empty for a baseline.
STAGE1_OPTS=()

find_stage1() {  # PROTOCOL_PATH SEED SCRIPT ARG... : set STAGE1_OPTS, or fail saying what to run first
    local path=$1 seed=$2 stage1
    shift 2
    STAGE1_OPTS=()
    [ -n "$BACKBONE_TRAINER" ] || return 0
    stage1=$(run_dir "$path" "$BACKBONE_TRAINER" "$BACKBONE_CFG" "$seed")
    require_finished "$stage1" "stage 1 of $TRAINER ($BACKBONE_TRAINER, $BACKBONE_CFG)" \
        "$BACKBONE_TRAINER" "$BACKBONE_CFG" "$@"
    STAGE1_OPTS=(TRAINER.FVG.BACKBONE_DIR "$stage1")
}

as_stage1() {  # FUNCTION ARG... : run a protocol function for the baseline of an FVG trainer, in a subshell
    (
        TRAINER=$BACKBONE_TRAINER
        CFG=$BACKBONE_CFG
        BACKBONE_TRAINER=
        "$@"
    )
}

# ------------------------------------------------------------------------------- base-to-new protocol
base2new_train() {  # DATASET SEED
    need_args 2 2 "$@"
    one_shot_count
    local ds=$1 seed=$2 path="base2new/train_base/$1/shots_$SHOTS"
    find_stage1 "$path" "$seed" base2new_train.sh "$ds" "$seed"
    train_job "$(run_dir "$path" "$TRAINER" "$CFG" "$seed")" "$TRAINER" "$CFG" "$ds" "$seed" \
        DATASET.NUM_SHOTS "$SHOTS" DATASET.SUBSAMPLE_CLASSES base ${STAGE1_OPTS[@]+"${STAGE1_OPTS[@]}"}
}

base2new_test() {  # DATASET SEED: evaluate the base-trained model on the $SUB classes (default new)
    need_args 2 2 "$@"
    one_shot_count
    local ds=$1 seed=$2 sub=${SUB:-new} path="base2new/train_base/$1/shots_$SHOTS" model
    case "$sub" in new | base) ;; *) die "SUB must be new or base, got '$sub'" ;; esac
    find_stage1 "$path" "$seed" base2new_train.sh "$ds" "$seed"
    model=$(run_dir "$path" "$TRAINER" "$CFG" "$seed")
    require_finished "$model" "the $TRAINER model" "$TRAINER" "$CFG" base2new_train.sh "$ds" "$seed"
    eval_job "$(run_dir "base2new/test_$sub/$ds/shots_$SHOTS" "$TRAINER" "$CFG" "$seed")" "$model" \
        "$TRAINER" "$CFG" "$ds" "$seed" \
        DATASET.NUM_SHOTS "$SHOTS" DATASET.SUBSAMPLE_CLASSES "$sub" ${STAGE1_OPTS[@]+"${STAGE1_OPTS[@]}"}
}

base2new() {  # DATASET [SEED ...]: train and test every seed; an FVG trainer runs its stage 1 first
    need_args 1 -1 "$@"
    local ds=$1 seed
    shift
    for seed in ${@:-$SEEDS}; do
        if [ -n "$BACKBONE_TRAINER" ]; then
            as_stage1 base2new_train "$ds" "$seed"
            as_stage1 base2new_test "$ds" "$seed"
        fi
        base2new_train "$ds" "$seed"
        base2new_test "$ds" "$seed"
    done
}

# ------------------------------------------------------- cross-dataset and domain generalisation
xd_train() {  # SEED: train on all classes of $SOURCE
    need_args 1 1 "$@"
    one_shot_count
    local seed=$1 path="xd/train/$SOURCE/shots_$SHOTS"
    find_stage1 "$path" "$seed" xd_train.sh "$seed"
    train_job "$(run_dir "$path" "$TRAINER" "$CFG" "$seed")" "$TRAINER" "$CFG" "$SOURCE" "$seed" \
        DATASET.NUM_SHOTS "$SHOTS" ${STAGE1_OPTS[@]+"${STAGE1_OPTS[@]}"}
}

xd_test() {  # TARGET SEED: evaluate the $SOURCE model on all classes of TARGET
    need_args 2 2 "$@"
    one_shot_count
    local target=$1 seed=$2 path="xd/train/$SOURCE/shots_$SHOTS" model branch=()
    find_stage1 "$path" "$seed" xd_train.sh "$seed"
    model=$(run_dir "$path" "$TRAINER" "$CFG" "$seed")
    require_finished "$model" "the $TRAINER model" "$TRAINER" "$CFG" xd_train.sh "$seed"
    # FVG: another dataset's classes are unseen (the new-class branch); the source and its domain-shifted
    # variants share its classes (the base branch, which EVAL_BRANCH auto picks for all classes).
    if [ -n "$BACKBONE_TRAINER" ] && [ "$target" != "$SOURCE" ] && [[ " $DG_TARGETS " != *" $target "* ]]; then
        branch=(TRAINER.FVG.EVAL_BRANCH new)
    fi
    eval_job "$(run_dir "xd/test/$target/shots_$SHOTS" "$TRAINER" "$CFG" "$seed")" "$model" \
        "$TRAINER" "$CFG" "$target" "$seed" ${STAGE1_OPTS[@]+"${STAGE1_OPTS[@]}"} ${branch[@]+"${branch[@]}"}
}

xd_protocol() {  # TARGETS [SEED ...]: train on $SOURCE once per seed, then test every target
    local targets=$1 seed target
    shift
    for seed in ${@:-$SEEDS}; do
        xd_train "$seed"
        for target in $targets; do
            xd_test "$target" "$seed"
        done
    done
}

xd() {  # [SEED ...]: cross-dataset transfer
    need_args 0 -1 "$@"
    xd_protocol "$XD_TARGETS" "$@"
}

dg() {  # [SEED ...]: domain generalisation
    need_args 0 -1 "$@"
    xd_protocol "$DG_TARGETS" "$@"
}

# -------------------------------------------------------------------------------------------- few-shot
few_shot() {  # DATASET [SEED ...]: all classes, every shot count in $SHOTS
    need_args 1 -1 "$@"
    local ds=$1 seed k path
    shift
    for seed in ${@:-$SEEDS}; do
        for k in $SHOTS; do
            [[ $k =~ ^[0-9]+$ ]] || die "SHOTS must hold shot counts, got '$SHOTS'"
            path="fewshot/$ds/shots_$k"
            SHOTS=$k find_stage1 "$path" "$seed" few_shot.sh "$ds" "$seed"
            train_job "$(run_dir "$path" "$TRAINER" "$CFG" "$seed")" "$TRAINER" "$CFG" "$ds" "$seed" \
                DATASET.NUM_SHOTS "$k" ${STAGE1_OPTS[@]+"${STAGE1_OPTS[@]}"}
        done
    done
}

# ---------------------------------------------------------------------------------- zero-shot CLIP
zeroshot_eval() {  # PROTOCOL_PATH DATASET SEED [KEY VALUE ...]
    local path=$1 ds=$2 seed=$3
    shift 3
    eval_job "$(run_dir "$path" "$TRAINER" "$CFG" "$seed")" "" "$TRAINER" "$CFG" "$ds" "$seed" "$@"
}

zeroshot_base2new() {  # DATASET [SEED ...]: base and new classes
    need_args 1 -1 "$@"
    local ds=$1 seed sub
    shift
    for seed in ${@:-1}; do
        for sub in base new; do
            zeroshot_eval "base2new/test_$sub/$ds/shots_0" "$ds" "$seed" DATASET.SUBSAMPLE_CLASSES "$sub"
        done
    done
}

zeroshot_targets() {  # TARGETS [SEED ...]: $SOURCE and every target, all classes
    local targets=$1 seed ds
    shift
    for seed in ${@:-1}; do
        for ds in $SOURCE $targets; do
            zeroshot_eval "xd/test/$ds/shots_0" "$ds" "$seed"
        done
    done
}

zeroshot_xd() {  # [SEED ...]
    need_args 0 -1 "$@"
    zeroshot_targets "$XD_TARGETS" "$@"
}

zeroshot_dg() {  # [SEED ...]
    need_args 0 -1 "$@"
    zeroshot_targets "$DG_TARGETS" "$@"
}

zeroshot_few_shot() {  # DATASET [SEED ...]: the 0-shot point of the few-shot curves
    need_args 1 -1 "$@"
    local ds=$1 seed
    shift
    for seed in ${@:-1}; do
        zeroshot_eval "fewshot/$ds/shots_0" "$ds" "$seed"
    done
}
