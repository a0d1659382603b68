"""The benchmark scripts end to end: bash, CPU, the synthetic dataset and a tiny CLIP.

Each trainer's base-to-new pipeline runs for real (train.py), in the order a user would run it,
with the tiny configs (CFG=tiny_cpu, 2 shots, 1 epoch; EXTRA_OPTS names the tiny CLIP); so do the
cross-dataset, domain-generalisation and few-shot scripts of CoOp, FVG_CoOp and zero-shot CLIP. The
other trainers' scripts for those protocols are the same two lines around the same shell functions
(scripts/lib/bench.sh) with their own TRAINER and CFG: they are checked for those values and their
config files, not run again (each train.py start costs seconds of CPU, mostly imports).
The protocols that need ImageNet run on stand-ins: the synthetic dataset is the source, and
copies of its config under the names ``synthetic_xd`` and ``synthetic_dg`` are the cross-dataset
and domain-generalisation targets (SOURCE, XD_TARGETS, DG_TARGETS, DATASET_CONFIG_DIR).
Independent chains of scripts run two at a time to keep the module short.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import REPO
from fvgpt.results import read_run

BASELINES = {"CoOp": "coop", "KgCoOp": "kgcoop", "PromptSRC": "promptsrc"}
FVG = {"FVG_CoOp": "CoOp", "FVG_KgCoOp": "KgCoOp", "FVG_PromptSRC": "PromptSRC"}
SCRIPT_DIRS = {**BASELINES, **{t: t.lower() for t in FVG}, "ZeroshotCLIP": "zsclip"}
TRAINED_SCRIPTS = ("base2new_train", "base2new_test", "base2new", "xd_train", "xd_test", "xd", "dg", "few_shot")
ZEROSHOT_SCRIPTS = ("base2new", "xd", "dg", "few_shot")
SHOTS = "2"
# One chain per trainer, in the order a user runs them; base2new, xd and dg call the single-job scripts.
STEPS = (("base2new", ["synthetic", "1"]), ("xd", ["1"]), ("dg", ["1"]), ("few_shot", ["synthetic", "1"]))
ALL_PROTOCOLS = ("CoOp", "FVG_CoOp", "ZeroshotCLIP")  # the others run base2new only


def registered() -> set:
    import trainers  # noqa: F401
    from dassl.engine import TRAINER_REGISTRY

    return set(TRAINER_REGISTRY.registered_names())


AVAILABLE = [t for t in SCRIPT_DIRS if t in registered()]


def needs(trainer: str) -> None:
    if trainer not in AVAILABLE:
        pytest.skip(f"trainer {trainer} is not on this branch yet")


def script(trainer: str, name: str) -> Path:
    return REPO / "scripts" / SCRIPT_DIRS[trainer] / f"{name}.sh"


def run_script(trainer: str, name: str, args, env, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script(trainer, name)), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def ok(proc: subprocess.CompletedProcess) -> str:
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{proc.args} failed ({proc.returncode}):\n{output[-6000:]}"
    return output


@pytest.fixture(scope="module")
def base_env(tmp_path_factory, tiny_clip_deep_path, synthetic_root):
    """Settings of every script run; one tiny CLIP deep enough for the tiny PromptSRC serves all trainers."""
    configs = tmp_path_factory.mktemp("dataset_configs")
    for name in ("synthetic", "synthetic_xd", "synthetic_dg"):
        shutil.copy(REPO / "configs" / "datasets" / "synthetic.yaml", configs / f"{name}.yaml")
    return dict(
        os.environ, DATA=str(synthetic_root), CFG="tiny_cpu", SHOTS=SHOTS, PYTHON=sys.executable,
        EXTRA_OPTS=f"MODEL.BACKBONE.NAME {tiny_clip_deep_path} OPTIM.MAX_EPOCH 1", DATASET_CONFIG_DIR=str(configs),
        SOURCE="synthetic", XD_TARGETS="synthetic_xd", DG_TARGETS="synthetic_dg",
        PYTHONWARNINGS="ignore", CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1",
    )


@pytest.fixture(scope="module")
def bench(tmp_path_factory, base_env):
    """Run every chain (baselines and zero-shot first, each FVG chain after its baseline's); keep the outputs."""
    output = tmp_path_factory.mktemp("bench") / "output"
    env = dict(base_env, OUTPUT=str(output))
    results = {}

    def chain(trainer):
        for name, args in STEPS if trainer in ALL_PROTOCOLS else STEPS[:1]:
            results[(trainer, name)] = run_script(trainer, name, args, env)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = {t: pool.submit(chain, t) for t in AVAILABLE if t not in FVG}
        later = [pool.submit(lambda t=t: (first[FVG[t]].result(), chain(t))) for t in AVAILABLE if t in FVG]
        for future in [*first.values(), *later]:
            future.result()
    return output, env, results


def run_folder(output: Path, *parts: str, trainer: str, seed: int = 1, shots: str = SHOTS, cfg: str = "tiny_cpu") -> Path:
    return output.joinpath(*parts, f"shots_{shots}", trainer, cfg, f"seed{seed}")


def result(folder: Path) -> float:
    run = read_run(str(folder))
    assert run.ok, f"{folder}: {run.describe()}"
    return run.accuracy


def log_text(folder: Path) -> str:
    return "".join(p.read_text() for p in sorted(folder.glob("log.txt*")))


# --------------------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("trainer", [t for t in SCRIPT_DIRS if t != "ZeroshotCLIP"])
def test_base2new_pipeline(bench, trainer):
    needs(trainer)
    output, _, results = bench
    out = ok(results[(trainer, "base2new")])
    for t in (FVG.get(trainer), trainer):
        if t:
            result(run_folder(output, "base2new", "train_base", "synthetic", trainer=t))
            result(run_folder(output, "base2new", "test_new", "synthetic", trainer=t))
    if trainer in FVG:  # stage 1 was run by the baseline's chain: the pipeline skipped it
        assert out.count("[skip]") == 2 and out.count("[train]") == 1 and out.count("[eval]") == 1
        new_log = log_text(run_folder(output, "base2new", "test_new", "synthetic", trainer=trainer))
        assert "FVG evaluation branch: new" in new_log and "Loading weights to fvg" in new_log


def test_zero_shot_base2new(bench):
    output, _, results = bench
    ok(results[("ZeroshotCLIP", "base2new")])
    for split in ("test_base", "test_new"):
        folder = run_folder(output, "base2new", split, "synthetic", trainer="ZeroshotCLIP", shots="0", cfg="tiny_cpu")
        assert 0 <= result(folder) <= 100
        assert "eval_only: True" in log_text(folder)


@pytest.mark.parametrize("trainer", ALL_PROTOCOLS)
def test_cross_dataset_and_domain_generalisation(bench, trainer):
    needs(trainer)
    output, _, results = bench
    xd, dg = ok(results[(trainer, "xd")]), ok(results[(trainer, "dg")])
    shots = "0" if trainer == "ZeroshotCLIP" else SHOTS
    for target in ("synthetic", "synthetic_xd", "synthetic_dg"):
        if target != "synthetic" or trainer == "ZeroshotCLIP":
            result(run_folder(output, "xd", "test", target, trainer=trainer, shots=shots))
    if trainer == "ZeroshotCLIP":
        assert "[skip]" in dg  # the source was evaluated by xd.sh
        return
    result(run_folder(output, "xd", "train", "synthetic", trainer=trainer))
    assert re.search(r"\[skip\] \S+/xd/train/synthetic/shots_2/\S+ already holds a finished run", dg)
    if trainer in FVG:  # another dataset's classes are new; a domain-shifted source keeps its classes
        assert "FVG evaluation branch: new" in log_text(run_folder(output, "xd", "test", "synthetic_xd", trainer=trainer))
        assert "FVG evaluation branch: base" in log_text(run_folder(output, "xd", "test", "synthetic_dg", trainer=trainer))
        assert "TRAINER.FVG.BACKBONE_DIR" in xd


@pytest.mark.parametrize("trainer", ALL_PROTOCOLS)
def test_few_shot(bench, trainer):
    needs(trainer)
    output, _, results = bench
    ok(results[(trainer, "few_shot")])
    shots = "0" if trainer == "ZeroshotCLIP" else SHOTS
    assert 0 <= result(run_folder(output, "fewshot", "synthetic", trainer=trainer, shots=shots)) <= 100


def test_parser_reads_every_script_output(bench, tmp_path):
    output, _, _ = bench
    png, table = tmp_path / "b2n.png", tmp_path / "b2n.csv"
    cmd = [sys.executable, "-m", "fvgpt.results"]
    res = subprocess.run(cmd + ["base2new", str(output / "base2new"), "--png", str(png), "--csv", str(table),
                                "--strict"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    for trainer in AVAILABLE:
        assert re.search(rf"^\| synthetic +\| {trainer} +\| \d", res.stdout, flags=re.M), res.stdout
    assert "All expected runs have a result." in res.stdout
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert len(table.read_text().splitlines()) == 1 + 2 * 3 * len(AVAILABLE)
    for protocol, target in (("xd", "synthetic_xd"), ("dg", "synthetic_dg")):
        res = subprocess.run(cmd + [protocol, str(output / "xd"), "--source", "synthetic", "--datasets", target,
                                    "--strict"], cwd=REPO, capture_output=True, text=True)
        assert res.returncode == 0 and f"| {target} " in res.stdout, res.stdout + res.stderr
    res = subprocess.run(cmd + ["fewshot", str(output / "fewshot"), "--strict"], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0 and re.search(r"\|\s+0 shots\s+\|\s+2 shots\s+\|", res.stdout), res.stdout


# ------------------------------------------------------------------------------ skip, resume, errors
def test_finished_jobs_are_skipped_without_running_python(bench):
    output, env, _ = bench
    needs("FVG_CoOp")
    folders = [run_folder(output, "base2new", split, "synthetic", trainer=t)
               for split in ("train_base", "test_new") for t in ("CoOp", "FVG_CoOp")]
    before = {p: sorted(os.listdir(p)) for p in folders}
    ckpt = run_folder(output, "base2new", "train_base", "synthetic", trainer="CoOp") / "prompt_learner" / "model.pth.tar-1"
    mtime = ckpt.stat().st_mtime_ns
    out = ok(run_script("FVG_CoOp", "base2new", ["synthetic", "1"], dict(env, PYTHON="false")))
    assert out.count("[skip]") == 4 and "already holds a finished run" in out and "already holds a result" in out
    assert {p: sorted(os.listdir(p)) for p in folders} == before and ckpt.stat().st_mtime_ns == mtime


def test_interrupted_run_is_resumed_from_its_checkpoint(bench, tmp_path):
    """A run folder with the checkpoint of epoch 1 of 2 and no finish marker, as an interruption leaves it."""
    output, env, _ = bench
    finished = run_folder(output, "base2new", "train_base", "synthetic", trainer="CoOp")
    folder = run_folder(tmp_path, "base2new", "train_base", "synthetic", trainer="CoOp")
    shutil.copytree(finished / "prompt_learner", folder / "prompt_learner")  # epoch 1, pointer included
    (folder / "log.txt").write_text((finished / "log.txt").read_text().split("Finish training")[0])
    assert read_run(str(folder)).status == "unfinished"
    extra = env["EXTRA_OPTS"].replace("OPTIM.MAX_EPOCH 1", "OPTIM.MAX_EPOCH 2")
    out = ok(run_script("CoOp", "base2new_train", ["synthetic", "1"], dict(env, OUTPUT=str(tmp_path), EXTRA_OPTS=extra)))
    assert f"[resume] {folder} holds an unfinished run with a checkpoint of epoch 1" in out
    assert "epoch [2/2]" in out and "epoch [1/2]" not in out
    assert (folder / "prompt_learner" / "model.pth.tar-2").is_file()
    run = read_run(str(folder))
    assert run.ok and Path(run.log).name.startswith("log.txt-")  # the resumed run's log; the old one is kept
    assert (folder / "log.txt").is_file()


def test_fvg_script_without_stage1_prints_the_command_to_run_first(base_env, tmp_path):
    env = dict(base_env, OUTPUT=str(tmp_path / "out"))
    res = run_script("FVG_CoOp", "base2new_train", ["synthetic", "1"], env)
    assert res.returncode != 0 and not (tmp_path / "out").exists()
    stage1 = run_folder(tmp_path / "out", "base2new", "train_base", "synthetic", trainer="CoOp")
    assert f"stage 1 of FVG_CoOp (CoOp, tiny_cpu) not found: {stage1} does not exist" in res.stderr
    command = res.stderr.strip().splitlines()[-1].strip()
    assert command.endswith("bash scripts/coop/base2new_train.sh synthetic 1")
    assert f"OUTPUT={tmp_path / 'out'}" in command and "TRAINER=CoOp CFG=tiny_cpu SHOTS=2" in command
    # the printed command, run as printed from the repository root, makes exactly that stage-1 run
    ok(subprocess.run(["bash", "-c", command], cwd=REPO, env=base_env, capture_output=True, text=True))
    result(stage1)
    test = run_script("CoOp", "base2new_test", ["synthetic", "2"], env)
    assert test.returncode != 0 and "the CoOp model not found" in test.stderr
    assert test.stderr.strip().endswith("bash scripts/coop/base2new_train.sh synthetic 2")


@pytest.mark.parametrize("trainer", list(SCRIPT_DIRS))
def test_every_protocol_script_exists_with_usage_and_existing_configs(trainer):
    names = ZEROSHOT_SCRIPTS if trainer == "ZeroshotCLIP" else TRAINED_SCRIPTS
    assert sorted(p.stem for p in script(trainer, "x").parent.glob("*.sh")) == sorted(names)
    for name in names:
        text = script(trainer, name).read_text()
        assert re.search(rf"^TRAINER=\${{TRAINER:-{trainer}}}$", text, flags=re.M)
        cfg = re.search(r"^CFG=\$\{CFG:-(.+)\}$", text, flags=re.M).group(1)
        if trainer in AVAILABLE:
            assert (REPO / "configs" / "trainers" / trainer / f"{cfg}.yaml").is_file(), (trainer, cfg)
    res = subprocess.run(["bash", str(script(trainer, names[0]))], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 2 and f"usage: bash scripts/{SCRIPT_DIRS[trainer]}/{names[0]}.sh" in res.stderr
