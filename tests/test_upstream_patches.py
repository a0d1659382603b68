"""fvgpt.upstream_patches: detection and repair of upstream Dassl's defects on current PyTorch.

The first part runs everywhere (CI included): it exercises the detection and
the patches on a small stand-in class with the same defects as upstream's
warm-up scheduler. The second part needs upstream Dassl importable (run it
with the upstream venv: ``/work/upstream/venv/bin/python -m pytest
tests/test_upstream_patches.py``) and skips otherwise; it proves the defects
on the real code in a fresh process, then checks the patched behaviour.
"""
from __future__ import annotations

import inspect
import json
import os
import pickle
import random
import subprocess
import sys
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler

import fvgpt  # noqa: F401  (resolves `import dassl`; applies the patches to upstream)
import dassl
from fvgpt import upstream_patches as up
from fvgpt.dassl_compat import FALLBACK_ROOT

from dassl_helpers import REFERENCE_LRS, load_module_from_file, lrs_after_resume, run_epochs, with_reference_optim

# importing upstream dassl.engine imports wilds, whose `outdated` dependency checks PyPI in the background
os.environ.setdefault("OUTDATED_IGNORE", "1")
REPO_ROOT = Path(__file__).resolve().parents[1]
PATCHES_FILE = REPO_ROOT / "fvgpt" / "upstream_patches.py"
IS_UPSTREAM = not getattr(dassl, "__fvgpt_fallback__", False)
needs_upstream = pytest.mark.skipif(
    not IS_UPSTREAM, reason="upstream Dassl is not importable here (run with the upstream venv)"
)
TORCH_REJECTS_VERBOSE = "verbose" not in inspect.signature(LRScheduler.__init__).parameters


# ----------------------------------------------------------------- a stand-in with upstream's defects


def _defective_warmup_classes() -> tuple[type, type]:
    """Fresh classes (patching mutates them) that behave like upstream 0.6.3's warm-up scheduler:
    ``verbose`` passed positionally to the torch base, and the default state_dict, which
    keeps the successor scheduler object."""

    class DefectiveBase(LRScheduler):
        def __init__(  # type: ignore[no-untyped-def]
            self, optimizer, successor, warmup_epoch, last_epoch=-1, verbose=False
        ):
            self.successor = successor
            self.warmup_epoch = warmup_epoch
            super().__init__(optimizer, last_epoch, verbose)  # type: ignore[call-arg]

        def step(self, epoch=None):  # type: ignore[no-untyped-def]
            if self.last_epoch >= self.warmup_epoch:
                self.successor.step(epoch)
                self._last_lr = self.successor.get_last_lr()
            else:
                super().step(epoch)

    class DefectiveConstant(DefectiveBase):
        def __init__(  # type: ignore[no-untyped-def]
            self, optimizer, successor, warmup_epoch, cons_lr, last_epoch=-1, verbose=False
        ):
            self.cons_lr = cons_lr
            super().__init__(optimizer, successor, warmup_epoch, last_epoch, verbose)

        def get_lr(self):  # type: ignore[no-untyped-def]
            if self.last_epoch >= self.warmup_epoch:
                return self.successor.get_last_lr()
            return [self.cons_lr for _ in self.base_lrs]

    return DefectiveBase, DefectiveConstant


def _fresh(warmup_cls: type) -> tuple[torch.optim.Optimizer, Any]:
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.002)
    return optimizer, warmup_cls(optimizer, CosineAnnealingLR(optimizer, 10.0), 1, 1e-5)


def test_detection_and_patches_on_a_defective_stand_in() -> None:
    base, constant = _defective_warmup_classes()
    assert up.has_warmup_init_defect(constant) is TORCH_REJECTS_VERBOSE
    up.patch_warmup_init(base)
    assert not up.has_warmup_init_defect(constant)
    assert getattr(base.__init__, up.PATCH_MARK) == "warmup-init"

    assert up.has_warmup_state_defect(constant)
    fresh = partial(_fresh, constant)
    _, scheduler = fresh()
    assert isinstance(scheduler.state_dict()["successor"], LRScheduler)
    frozen = lrs_after_resume(fresh, 3, weights_only=False)
    assert len(set(frozen)) == 1  # the defect: the live lr never moves again

    up.patch_warmup_state(base)
    assert not up.has_warmup_state_defect(constant)
    assert lrs_after_resume(fresh, 3, weights_only=True) == pytest.approx(REFERENCE_LRS[3:], rel=2e-3)
    assert lrs_after_resume(fresh, 0, weights_only=True) == pytest.approx(REFERENCE_LRS, rel=2e-3)


def test_patched_scheduler_reads_legacy_state_holding_the_successor_object() -> None:
    base, constant = _defective_warmup_classes()
    up.patch_warmup_init(base)
    optimizer, scheduler = _fresh(constant)
    run_epochs(optimizer, scheduler, 3)
    legacy = pickle.loads(pickle.dumps({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}))
    up.patch_warmup_state(base)
    optimizer, scheduler = _fresh(constant)
    optimizer.load_state_dict(legacy["optimizer"])
    scheduler.load_state_dict(legacy["scheduler"])
    assert run_epochs(optimizer, scheduler, 3) == pytest.approx(REFERENCE_LRS[3:6], rel=2e-3)


def _load_fallback_lr_module() -> ModuleType:
    """The fallback's lr_scheduler.py as a separate module (upstream Dassl may own the name `dassl`)."""
    return load_module_from_file("fvgpt_test_fallback_lr", FALLBACK_ROOT / "dassl" / "optim" / "lr_scheduler.py")


def test_healthy_scheduler_is_not_reported_as_defective() -> None:
    module = _load_fallback_lr_module()
    assert not up.has_warmup_init_defect(module.ConstantWarmupScheduler)
    assert not up.has_warmup_state_defect(module.ConstantWarmupScheduler)


def test_patched_checkpoint_io_is_atomic_and_reads_legacy_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "prompt_learner"
    state = dict(state_dict={"module.ctx": torch.ones(2)}, epoch=2, optimizer=None, scheduler=None, val_result=None)
    up.patched_save_checkpoint(state, str(directory), is_best=True)
    assert sorted(os.listdir(directory)) == ["checkpoint", "model-best.pth.tar", "model.pth.tar-2"]
    assert (directory / "checkpoint").read_text() == "model.pth.tar-2\n"
    (tmp_path / "plain").write_text("x")  # atomic files keep the usual permissions (not mkstemp's 0o600)
    assert os.stat(directory / "model.pth.tar-2").st_mode == os.stat(tmp_path / "plain").st_mode
    loaded = torch.load(directory / "model.pth.tar-2", weights_only=True)
    assert list(loaded["state_dict"]) == ["ctx"] and loaded["epoch"] == 2
    assert up.patched_load_checkpoint(str(directory / "model.pth.tar-2"))["epoch"] == 2
    assert "Checkpoint saved to" in capsys.readouterr().out

    before = (directory / "model.pth.tar-2").read_bytes()

    def crash(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        f.write(b"partial")
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(torch, "save", crash)
        with pytest.raises(OSError, match="disk full"):
            up.patched_save_checkpoint(state, str(directory))
    assert (directory / "model.pth.tar-2").read_bytes() == before
    assert sorted(os.listdir(directory)) == ["checkpoint", "model-best.pth.tar", "model.pth.tar-2"]

    legacy = tmp_path / "legacy.pth.tar"
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    torch.save({"epoch": 7, "scheduler": {"successor": CosineAnnealingLR(optimizer, 10.0)}}, legacy)
    assert up.patched_load_checkpoint(str(legacy))["epoch"] == 7
    out = capsys.readouterr().out
    assert f'"{legacy}"' in out and "weights_only=False" in out
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        up.patched_load_checkpoint(str(tmp_path / "missing.pth"))


def test_rebind_replaces_every_module_binding_of_the_original() -> None:
    def original() -> str:
        return "old"

    def replacement() -> str:
        return "new"

    fake = ModuleType("fvgpt_test_fake_trainer")
    fake.load_checkpoint = original  # type: ignore[attr-defined]
    fake.other = len  # type: ignore[attr-defined]
    sys.modules[fake.__name__] = fake
    try:
        rebound = up._rebind(original, replacement)
    finally:
        del sys.modules[fake.__name__]
    assert rebound == ["fvgpt_test_fake_trainer.load_checkpoint"]
    assert fake.load_checkpoint is replacement and fake.other is len


@pytest.mark.skipif(IS_UPSTREAM, reason="checks the fallback case")
def test_apply_is_a_no_op_for_the_fallback() -> None:
    before = up.APPLIED
    assert up.apply_upstream_patches() == () and up.APPLIED == before == ()


# ----------------------------------------------------------------- real upstream Dassl

BEFORE_SCRIPT = r"""
import importlib.util, io, json, os, sys, warnings
warnings.filterwarnings("ignore")
import torch
import dassl
assert not getattr(dassl, "__fvgpt_fallback__", False), "expected upstream Dassl"
from dassl.config import get_cfg_default
from dassl.optim import build_lr_scheduler, build_optimizer, lr_scheduler as L
from dassl.utils import load_checkpoint, save_checkpoint

spec = importlib.util.spec_from_file_location("isolated_upstream_patches", sys.argv[1])
iso = importlib.util.module_from_spec(spec)
spec.loader.exec_module(iso)  # the patch functions, without importing fvgpt (which would patch)
legacy_dir = sys.argv[2]
out = {}

cfg = get_cfg_default()
o = cfg.OPTIM
o.NAME, o.LR, o.LR_SCHEDULER, o.MAX_EPOCH, o.WARMUP_EPOCH, o.WARMUP_TYPE = "sgd", 0.002, "cosine", 10, 1, "constant"
def fresh():
    model = torch.nn.Linear(2, 2)
    optimizer = build_optimizer(model, o)
    return model, optimizer, build_lr_scheduler(optimizer, o)

try:
    fresh()
    out["construct_error"] = None
except TypeError as e:
    out["construct_error"] = str(e)
out["init_defect"] = iso.has_warmup_init_defect(L.ConstantWarmupScheduler)

iso.patch_warmup_init(L._BaseWarmupScheduler)  # fix (a) only, to expose (b)
out["init_defect_after_patch"] = iso.has_warmup_init_defect(L.ConstantWarmupScheduler)
out["state_defect"] = iso.has_warmup_state_defect(L.ConstantWarmupScheduler)
model, optimizer, scheduler = fresh()
for _ in range(3):
    optimizer.step(); scheduler.step()
out["successor_type"] = type(scheduler.state_dict()["successor"]).__name__
state = {"state_dict": model.state_dict(), "epoch": 3, "optimizer": optimizer.state_dict(),
         "scheduler": scheduler.state_dict(), "val_result": None}
save_checkpoint(state, legacy_dir)  # upstream's own, unpatched
path = os.path.join(legacy_dir, "model.pth.tar-3")
try:
    torch.load(path, weights_only=True)
    out["weights_only_error"] = None
except Exception as e:
    out["weights_only_error"] = type(e).__name__
try:
    load_checkpoint(path)
    out["upstream_load_error"] = None
except Exception as e:
    out["upstream_load_error"] = type(e).__name__

checkpoint = torch.load(path, weights_only=False)  # resume the way older torch did
model, optimizer, scheduler = fresh()
optimizer.load_state_dict(checkpoint["optimizer"])
scheduler.load_state_dict(checkpoint["scheduler"])
lrs = []
for _ in range(4):
    lrs.append(optimizer.param_groups[0]["lr"]); optimizer.step(); scheduler.step()
out["resumed_lrs_unpatched"] = lrs

import dassl.engine.trainer as trainer_module  # binds the unpatched checkpoint functions
sys.path.insert(0, sys.argv[3])
import fvgpt  # ensure_dassl() -> apply_upstream_patches()
from fvgpt import upstream_patches as up
out["applied"] = list(up.APPLIED)
out["engine_rebound"] = (trainer_module.load_checkpoint is up.patched_load_checkpoint
                         and trainer_module.save_checkpoint is up.patched_save_checkpoint)
out["second_call"] = list(up.apply_upstream_patches())
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def before_patching(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    """Run BEFORE_SCRIPT in a fresh upstream process; return its results, stdout and legacy folder."""
    legacy_dir = tmp_path_factory.mktemp("legacy") / "prompt_learner"
    proc = subprocess.run(
        [sys.executable, "-c", BEFORE_SCRIPT, str(PATCHES_FILE), str(legacy_dir), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(legacy_dir.parent),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line[len("RESULT ") :]), proc.stdout, legacy_dir


@needs_upstream
def test_upstream_defects_are_present_before_patching(before_patching: tuple[dict[str, Any], str, Path]) -> None:
    result, _, _ = before_patching
    if TORCH_REJECTS_VERBOSE:
        assert "positional argument" in result["construct_error"]
        assert result["init_defect"] is True
    assert result["init_defect_after_patch"] is False
    assert result["state_defect"] is True and result["successor_type"] == "CosineAnnealingLR"
    assert result["weights_only_error"] == "UnpicklingError"
    assert result["upstream_load_error"] == "UnpicklingError"
    frozen = result["resumed_lrs_unpatched"]
    assert len(set(frozen)) == 1 and frozen[1] != pytest.approx(REFERENCE_LRS[4], rel=1e-2)


@needs_upstream
def test_apply_patches_rebinds_imported_engine_prints_and_is_idempotent(
    before_patching: tuple[dict[str, Any], str, Path],
) -> None:
    result, stdout, _ = before_patching
    # warmup-init was already fixed by the isolated call above, so only (b) remained to detect
    assert result["applied"] == ["warmup-state", "checkpoint-io"]
    assert result["engine_rebound"] is True and result["second_call"] == []
    patch_lines = [line for line in stdout.splitlines() if line.startswith("[fvgpt] patched upstream Dassl:")]
    assert len(patch_lines) == 2


@needs_upstream
def test_this_process_is_patched_once() -> None:
    import dassl.optim.lr_scheduler as L
    import dassl.utils
    import dassl.utils.torchtools as torchtools

    expected = ("warmup-init",) * TORCH_REJECTS_VERBOSE + ("warmup-state", "checkpoint-io")
    assert up.APPLIED == expected
    assert up.apply_upstream_patches() == () and up.APPLIED == expected
    assert dassl.utils.load_checkpoint is torchtools.load_checkpoint is up.patched_load_checkpoint
    assert dassl.utils.save_checkpoint is torchtools.save_checkpoint is up.patched_save_checkpoint
    assert getattr(L._BaseWarmupScheduler.state_dict, up.PATCH_MARK) == "warmup-state"


def _upstream_cfg(**optim: Any) -> Any:
    from dassl.config import get_cfg_default

    return with_reference_optim(get_cfg_default(), **optim)


@needs_upstream
@pytest.mark.parametrize(
    "optim",
    [
        {},
        {"WARMUP_TYPE": "linear", "WARMUP_EPOCH": 3},
        {"WARMUP_RECOUNT": False, "WARMUP_EPOCH": 2},
        {"LR_SCHEDULER": "single_step", "STEPSIZE": (3,)},
        {"LR_SCHEDULER": "multi_step", "STEPSIZE": (2, 5), "WARMUP_TYPE": "linear", "WARMUP_EPOCH": 2},
    ],
)
def test_patched_upstream_schedules_match_reference_and_fallback(optim: dict[str, Any]) -> None:
    from dassl.optim import build_lr_scheduler, build_optimizer

    cfg = _upstream_cfg(**optim)
    fallback = _load_fallback_lr_module()

    def run(builder: Any) -> list[float]:
        optimizer = build_optimizer(nn.Linear(2, 2), cfg.OPTIM)
        return run_epochs(optimizer, builder(optimizer, cfg.OPTIM), 10)

    upstream_lrs = run(build_lr_scheduler)
    assert upstream_lrs == pytest.approx(run(fallback.build_lr_scheduler), rel=1e-12)
    if not optim:
        assert upstream_lrs == pytest.approx(REFERENCE_LRS, rel=2e-3)


@needs_upstream
@pytest.mark.parametrize("stop_after", [0, 1, 4])
def test_patched_upstream_checkpoint_resumes_with_the_right_lr(tmp_path: Path, stop_after: int) -> None:
    from dassl.optim import build_lr_scheduler, build_optimizer
    from dassl.utils import resume_from_checkpoint, save_checkpoint

    cfg = _upstream_cfg()

    def fresh() -> tuple[nn.Module, Any, Any]:
        model = nn.Linear(2, 2)
        optimizer = build_optimizer(model, cfg.OPTIM)
        return model, optimizer, build_lr_scheduler(optimizer, cfg.OPTIM)

    model, optimizer, scheduler = fresh()
    run_epochs(optimizer, scheduler, stop_after)
    state = {"state_dict": model.state_dict(), "epoch": stop_after, "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "val_result": None}  # fmt: skip
    save_checkpoint(state, str(tmp_path))
    name = f"model.pth.tar-{stop_after}"
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", name]  # no temporary file left
    assert set(torch.load(tmp_path / name, weights_only=True)) == set(state)

    model, optimizer, scheduler = fresh()
    assert resume_from_checkpoint(str(tmp_path), model, optimizer, scheduler) == stop_after
    assert run_epochs(optimizer, scheduler, 10 - stop_after) == pytest.approx(REFERENCE_LRS[stop_after:], rel=2e-3)


@needs_upstream
def test_patched_upstream_resumes_a_legacy_checkpoint_without_freezing(
    before_patching: tuple[dict[str, Any], str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from dassl.optim import build_lr_scheduler, build_optimizer
    from dassl.utils import resume_from_checkpoint

    _, _, legacy_dir = before_patching
    cfg = _upstream_cfg()
    model = nn.Linear(2, 2)
    optimizer = build_optimizer(model, cfg.OPTIM)
    scheduler = build_lr_scheduler(optimizer, cfg.OPTIM)
    assert resume_from_checkpoint(str(legacy_dir), model, optimizer, scheduler) == 3
    out = capsys.readouterr().out
    assert "Warning" in out and str(legacy_dir / "model.pth.tar-3") in out
    assert run_epochs(optimizer, scheduler, 4) == pytest.approx(REFERENCE_LRS[3:7], rel=2e-3)


@needs_upstream
def test_patched_upstream_trainer_trains_saves_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    from dassl.config import get_cfg_default
    from dassl.data.datasets import DATASET_REGISTRY, DatasetBase, Datum
    from dassl.engine import TRAINER_REGISTRY, TrainerX, build_trainer
    from dassl.optim import build_lr_scheduler, build_optimizer

    @DATASET_REGISTRY.register(force=True)
    class FvgptUpstreamTinyData(DatasetBase):
        def __init__(self, cfg: Any) -> None:
            items = []
            for label in range(2):
                for i in range(4):
                    path = Path(cfg.DATASET.ROOT) / f"{label}_{i}.png"
                    Image.new("RGB", (8, 8), (100 * label, 20 * i, 50)).save(path)
                    items.append(Datum(str(path), label, 0, f"class{label}"))
            super().__init__(train_x=items, test=items)

    @TRAINER_REGISTRY.register(force=True)
    class FvgptUpstreamTinyTrainer(TrainerX):
        def build_model(self) -> None:
            self.model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, self.num_classes))
            self.optim = build_optimizer(self.model, self.cfg.OPTIM)
            self.sched = build_lr_scheduler(self.optim, self.cfg.OPTIM)
            self.register_model("model", self.model, self.optim, self.sched)

        def before_epoch(self) -> None:
            self.__dict__.setdefault("epoch_lrs", []).append(self.get_current_lr())

        def forward_backward(self, batch: dict[str, Any]) -> dict[str, float]:
            image, label, _ = self.parse_batch_train(batch)
            loss = nn.functional.cross_entropy(self.model(image), label)
            self.model_backward_and_update(loss)
            if self.batch_idx + 1 == self.num_batches:
                self.update_lr()
            return {"loss": loss.item()}

    def make_cfg(max_epoch: int, output: Path) -> Any:
        cfg = get_cfg_default()
        cfg.USE_CUDA = False
        cfg.OUTPUT_DIR = str(output)
        cfg.DATASET.NAME, cfg.DATASET.ROOT = "FvgptUpstreamTinyData", str(tmp_path)
        cfg.TRAINER.NAME = "FvgptUpstreamTinyTrainer"
        cfg.INPUT.SIZE = (8, 8)
        cfg.DATALOADER.NUM_WORKERS = 0
        cfg.DATALOADER.TRAIN_X.BATCH_SIZE = 4
        cfg.TRAIN.CHECKPOINT_FREQ = 1
        return with_reference_optim(cfg, MAX_EPOCH=max_epoch)

    reference = build_trainer(make_cfg(5, tmp_path / "ref"))
    reference.train()
    run = tmp_path / "run"
    cfg = make_cfg(5, run)
    crashed = build_trainer(cfg)
    crashed.max_epoch = 3  # stop after three epochs with checkpoints 1..3
    crashed.train()
    for epoch in (1, 2, 3):
        torch.load(run / "model" / f"model.pth.tar-{epoch}", weights_only=True)
    resumed = build_trainer(cfg)
    resumed.train()
    assert "Previous epoch: 3" in capsys.readouterr().out
    assert resumed.epoch_lrs == pytest.approx(reference.epoch_lrs[3:], rel=1e-9)
    cosine_5 = [0.002 * (1 + c) / 2 for c in (1.0, 0.809017, 0.309017, -0.309017)]  # cos(k * pi / 5)
    assert reference.epoch_lrs == pytest.approx([1e-5, *cosine_5], rel=1e-4)


# ----------------------------------------------------------------- fallback <-> upstream compatibility


@needs_upstream
def test_fallback_default_config_equals_upstream() -> None:
    from dassl.config import get_cfg_default

    module = load_module_from_file("fvgpt_test_fallback_defaults", FALLBACK_ROOT / "dassl" / "config" / "defaults.py")

    def flat(node: Any, prefix: str = "") -> dict[str, tuple[str, Any]]:
        out: dict[str, tuple[str, Any]] = {}
        for key, value in node.items():
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = (type(value).__name__, value)
        return out

    assert flat(module._C) == flat(get_cfg_default())


FALLBACK_SCRIPT = r"""
import json, pickle, random, sys
sys.path.insert(0, sys.argv[1])  # the fallback shadows upstream in this process
import dassl
assert dassl.__fvgpt_fallback__
from dassl.data.datasets import DatasetBase, Datum
with open(sys.argv[2], "rb") as f:
    items = pickle.load(f)
assert all(type(d) is Datum for d in items)
random.seed(3)
few = DatasetBase(train_x=items).generate_fewshot_dataset(items, num_shots=2)
with open(sys.argv[3], "wb") as f:
    pickle.dump([Datum(d.impath, d.label, d.domain, d.classname + "!") for d in items], f)
print("RESULT " + json.dumps([d.impath for d in few]))
"""


@needs_upstream
def test_datum_pickles_and_fewshot_sampling_are_interchangeable(tmp_path: Path) -> None:
    from PIL import Image

    from dassl.data.datasets import DatasetBase, Datum

    items = []
    for i in range(9):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (4, 4)).save(path)
        items.append(Datum(str(path), label=i % 3, domain=1, classname=f"c{i % 3}"))
    with open(tmp_path / "upstream.pkl", "wb") as f:
        pickle.dump(items, f)
    proc = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT, str(FALLBACK_ROOT), str(tmp_path / "upstream.pkl"),
         str(tmp_path / "fallback.pkl")],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    random.seed(3)
    expected = DatasetBase(train_x=items).generate_fewshot_dataset(items, num_shots=2)
    assert json.loads(line[len("RESULT ") :]) == [d.impath for d in expected]
    with open(tmp_path / "fallback.pkl", "rb") as f:
        back = pickle.load(f)
    assert all(type(d) is Datum for d in back)
    assert [(d.impath, d.label, d.domain, d.classname) for d in back] == [
        (d.impath, d.label, d.domain, d.classname + "!") for d in items
    ]
