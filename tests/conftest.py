"""Shared fixtures: a tiny CLIP checkpoint, the synthetic dataset, and a train.py runner.

Everything is built once per session in a temporary directory, deterministically,
so tests never download anything and never touch the repository's data/ folder.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # trainers/ and datasets/ are used from the repo root, as in CoOp
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def tiny_clip_path(tmp_path_factory) -> Path:
    """A tiny ViT CLIP saved as a plain state dict (loaded like a real checkpoint)."""
    from fvgpt.tiny_clip import build_tiny_clip, save_tiny_clip

    return save_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny_clip.pt", build_tiny_clip(seed=0))


@pytest.fixture(scope="session")
def tiny_clip_deep_path(tmp_path_factory) -> Path:
    """A tiny ViT CLIP with 3 layers per tower, enough for prompt depth 3 (PromptSRC tests)."""
    from fvgpt.tiny_clip import TinyCLIPSpec, build_tiny_clip, save_tiny_clip

    spec = TinyCLIPSpec(vision_layers=3, transformer_layers=3)
    return save_tiny_clip(tmp_path_factory.mktemp("clip3") / "tiny_clip3.pt", build_tiny_clip(spec, seed=0))


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """DATASET.ROOT holding the synthetic dataset (10 classes, masks under mask/)."""
    from fvgpt.data.synthetic import generate

    root = tmp_path_factory.mktemp("data")
    generate(root)
    return root


class TrainRun:
    """Result of one ``python train.py`` subprocess."""

    def __init__(self, proc: subprocess.CompletedProcess, output_dir: Path) -> None:
        self.proc = proc
        self.output_dir = output_dir
        self.stdout = proc.stdout

    @property
    def accuracy(self) -> float:
        """The last ``* accuracy: X%`` line printed."""
        found = re.findall(r"^\* accuracy: ([\d.]+)%", self.stdout, flags=re.M)
        assert found, f"no accuracy line in output:\n{self.stdout[-3000:]}"
        return float(found[-1])


def run_train(
    args: List[str],
    output_dir: Path,
    opts: Optional[List[str]] = None,
    check: bool = True,
    timeout: int = 300,
) -> TrainRun:
    """Run train.py from the repository root, like the shell scripts do."""
    cmd = [sys.executable, "train.py", "--output-dir", str(output_dir), *args, *(opts or [])]
    env = dict(os.environ, PYTHONWARNINGS="ignore", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    proc.stdout = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"train.py failed ({proc.returncode}):\n{proc.stdout[-5000:]}")
    return TrainRun(proc, output_dir)


@pytest.fixture(scope="session")
def train_runner():
    return run_train


def make_cfg(args: List[str]):
    """A frozen config built exactly as train.py builds it from ``args``."""
    import train

    return train.setup_cfg(train.build_parser().parse_args(args))


def build(args: List[str]):
    """A trainer built in-process from train.py arguments, with the seed train.py would set."""
    from dassl.engine import build_trainer
    from dassl.utils import set_random_seed

    set_random_seed(1)
    return build_trainer(make_cfg(args))


@pytest.fixture
def coop_args(tiny_clip_path, synthetic_root) -> List[str]:
    """train.py arguments for a tiny CoOp run on the synthetic dataset."""
    return [
        "--root", str(synthetic_root), "--seed", "1", "--trainer", "CoOp",
        "--dataset-config-file", "configs/datasets/synthetic.yaml",
        "--config-file", "configs/trainers/CoOp/tiny_cpu.yaml",
        "MODEL.BACKBONE.NAME", str(tiny_clip_path), "DATASET.NUM_SHOTS", "4",
    ]


def trainer_flags(trainer: str, config: str, root: Path, seed: str = "1") -> List[str]:
    """The --flags of a train.py run on the synthetic dataset (KEY VALUE pairs go after them)."""
    return [
        "--root", str(root), "--seed", seed, "--trainer", trainer,
        "--dataset-config-file", "configs/datasets/synthetic.yaml", "--config-file", config,
    ]


def _base_run(tmp_path_factory, trainer: str, clip_path: Path, root: Path):
    flags = trainer_flags(trainer, f"configs/trainers/{trainer}/tiny_cpu.yaml", root)
    opts = ["MODEL.BACKBONE.NAME", str(clip_path), "DATASET.NUM_SHOTS", "4", "DATASET.SUBSAMPLE_CLASSES", "base"]
    return flags, opts, run_train(flags, tmp_path_factory.mktemp(trainer) / "seed1", opts)


@pytest.fixture(scope="session")
def coop_stage1(tmp_path_factory, tiny_clip_path, synthetic_root):
    """(flags, opts, run) of a tiny CoOp trained on the base classes; shared by its tests and FVG_CoOp's."""
    return _base_run(tmp_path_factory, "CoOp", tiny_clip_path, synthetic_root)


@pytest.fixture(scope="session")
def kgcoop_stage1(tmp_path_factory, tiny_clip_path, synthetic_root):
    """(flags, opts, run) of a tiny KgCoOp trained on the base classes; shared by its tests and FVG_KgCoOp's."""
    return _base_run(tmp_path_factory, "KgCoOp", tiny_clip_path, synthetic_root)


@pytest.fixture(scope="session")
def promptsrc_stage1(tmp_path_factory, tiny_clip_deep_path, synthetic_root):
    """(flags, opts, run) of a tiny PromptSRC (depth 3) trained on the base classes; shared likewise."""
    return _base_run(tmp_path_factory, "PromptSRC", tiny_clip_deep_path, synthetic_root)
