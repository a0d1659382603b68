"""Behaviour of FVG-PT's bundled Dassl fallback (``fvgpt/dassl_fallback/dassl``).

These tests need ``import dassl`` to resolve to the fallback, i.e. an
environment without upstream Dassl (CI, the main venv). Where upstream Dassl
is installed they skip; tests/test_upstream_patches.py covers that case.
"""
from __future__ import annotations

import importlib.util
import os
import pickle
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn
from PIL import Image

import fvgpt  # noqa: F401  (resolves `import dassl`)
import dassl

from dassl_helpers import REFERENCE_LRS, lrs_after_resume, run_epochs, with_reference_optim

if not getattr(dassl, "__fvgpt_fallback__", False):
    pytest.skip(
        "`import dassl` resolves to upstream Dassl here; the fallback tests need an environment without it",
        allow_module_level=True,
    )

from dassl.config import get_cfg_default  # noqa: E402
from dassl.data import DataManager, DatasetWrapper, build_data_loader  # noqa: E402
from dassl.data.datasets import DATASET_REGISTRY, DatasetBase, Datum, build_dataset  # noqa: E402
from dassl.data.transforms import AVAI_CHOICES, build_transform  # noqa: E402
from dassl.engine import TRAINER_REGISTRY, TrainerX, build_trainer  # noqa: E402
from dassl.evaluation import Classification, build_evaluator  # noqa: E402
from dassl.metrics import compute_accuracy  # noqa: E402
from dassl.optim import build_lr_scheduler, build_optimizer  # noqa: E402
from dassl.utils import (  # noqa: E402
    MetricMeter,
    Registry,
    count_num_param,
    load_checkpoint,
    load_pretrained_weights,
    read_image,
    save_checkpoint,
    setup_logger,
)

CHECKPOINT_KEYS = {"state_dict", "epoch", "optimizer", "scheduler", "val_result"}


def test_fallback_is_what_dassl_resolves_to_without_upstream() -> None:
    assert dassl.__fvgpt_fallback__ is True
    assert Path(dassl.__file__).parent == fvgpt.dassl_compat.FALLBACK_ROOT / "dassl"
    # fvgpt/dassl_fallback is a sys.path entry, not a package
    assert not (fvgpt.dassl_compat.FALLBACK_ROOT / "__init__.py").exists()
    assert importlib.util.find_spec("dassl").origin == dassl.__file__


# ----------------------------------------------------------------- shared fixtures


def _write_images(root: Path, per_class: dict[str, int], size: int = 12) -> list[tuple[str, int, str]]:
    """Solid-colour PNGs in root/<class>/; returns (path, label, classname) sorted by class."""
    items = []
    for label, (cname, n) in enumerate(sorted(per_class.items())):
        (root / cname).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            path = root / cname / f"{i}.png"
            colour = (40 * label + 30, 10 * i, 200 - 40 * label)
            Image.new("RGB", (size + i, size), colour).save(path)
            items.append((str(path), label, cname))
    return items


@DATASET_REGISTRY.register(force=True)
class FvgptTinyDataset(DatasetBase):
    """Three classes of small on-disk images under DATASET.ROOT: 6/6/6 train, 2/2/2 val, 3/3/3 test."""

    def __init__(self, cfg: Any) -> None:
        root = Path(cfg.DATASET.ROOT)

        def split(name: str, n: int) -> list[Datum]:
            items = _write_images(root / name, {"cat": n, "dog": n, "fox": n})
            return [Datum(impath=p, label=lab, classname=c) for p, lab, c in items]

        super().__init__(train_x=split("train", 6), val=split("val", 2), test=split("test", 3))


@TRAINER_REGISTRY.register(force=True)
class FvgptTinyTrainer(TrainerX):
    """A linear classifier on 8x8 images; logs every hook call in ``calls``."""

    def __init__(self, cfg: Any) -> None:
        self.calls: list[str] = []
        self.epoch_lrs: list[float] = []
        super().__init__(cfg)

    def check_cfg(self, cfg: Any) -> None:
        self.calls.append(f"check_cfg(cfg set: {hasattr(self, 'cfg')})")

    def build_data_loader(self) -> None:
        self.calls.append("build_data_loader")
        super().build_data_loader()

    def build_model(self) -> None:
        self.calls.append("build_model")
        self.model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, self.num_classes))
        self.optim = build_optimizer(self.model, self.cfg.OPTIM)
        self.sched = build_lr_scheduler(self.optim, self.cfg.OPTIM)
        self.register_model("model", self.model, self.optim, self.sched)

    def before_train(self) -> None:
        self.calls.append("before_train")
        super().before_train()

    def before_epoch(self) -> None:
        self.calls.append(f"before_epoch {self.epoch}")
        self.epoch_lrs.append(self.get_current_lr())
        if self.epoch == getattr(self, "crash_at_epoch", None):
            raise KeyboardInterrupt("simulated crash")

    def run_epoch(self) -> None:
        self.calls.append(f"run_epoch {self.epoch}")
        super().run_epoch()

    def after_epoch(self) -> None:
        self.calls.append(f"after_epoch {self.epoch}")
        super().after_epoch()

    def after_train(self) -> None:
        self.calls.append("after_train")
        super().after_train()

    def forward_backward(self, batch: dict[str, Any]) -> dict[str, float]:
        image, label, _ = self.parse_batch_train(batch)
        output = self.model(image)
        loss = nn.functional.cross_entropy(output, label)
        self.model_backward_and_update(loss)
        if self.batch_idx + 1 == self.num_batches:
            self.update_lr()
        return {"loss": loss.item(), "acc": compute_accuracy(output, label)[0].item()}


def _tiny_cfg(tmp_path: Path, **optim: Any) -> Any:
    cfg = get_cfg_default()
    cfg.USE_CUDA = False
    cfg.OUTPUT_DIR = str(tmp_path / "output")
    cfg.DATASET.NAME = "FvgptTinyDataset"
    cfg.DATASET.ROOT = str(tmp_path / "data")
    cfg.TRAINER.NAME = "FvgptTinyTrainer"
    cfg.INPUT.SIZE = (8, 8)
    cfg.INPUT.TRANSFORMS = ("normalize",)
    cfg.DATALOADER.NUM_WORKERS = 0
    cfg.DATALOADER.TRAIN_X.BATCH_SIZE = 4
    cfg.DATALOADER.TEST.BATCH_SIZE = 4
    cfg.TRAIN.PRINT_FREQ = 2
    return with_reference_optim(cfg, **{"MAX_EPOCH": 3, **optim})


# ----------------------------------------------------------------- registry and builders


def test_registry_decorator_duplicate_missing_and_force() -> None:
    registry = Registry("THING")

    @registry.register()
    class Alpha:
        pass

    assert registry.get("Alpha") is Alpha and registry.registered_names() == ["Alpha"]
    with pytest.raises(KeyError, match='"Alpha" was already registered'):
        registry.register()(type("Alpha", (), {}))
    with pytest.raises(KeyError, match='"Beta" does not exist'):
        registry.get("Beta")
    replacement = type("Alpha", (), {})
    registry.register(replacement, force=True)
    assert registry.get("Alpha") is replacement


def test_registry_reserves_upstream_builtin_names() -> None:
    with pytest.raises(KeyError, match="reserved.*upstream Dassl"):
        TRAINER_REGISTRY.register()(type("Vanilla", (), {}))
    with pytest.raises(KeyError, match="reserved"):
        DATASET_REGISTRY.register()(type("PACS", (), {}))
    assert "Vanilla" not in TRAINER_REGISTRY.registered_names()


def test_build_trainer_unknown_name_lists_names_and_suggests(tmp_path: Path) -> None:
    cfg = _tiny_cfg(tmp_path)
    cfg.TRAINER.NAME = "FvgptTinyTrainr"
    with pytest.raises(ValueError) as err:
        build_trainer(cfg)
    assert "FvgptTinyTrainer" in str(err.value) and "do you mean [FvgptTinyTrainer]" in str(err.value)
    cfg.DATASET.NAME = "NoSuchData"
    with pytest.raises(ValueError, match=r"Unknown dataset.*'FvgptTinyDataset'.*do you mean"):
        build_dataset(cfg)
    cfg.TEST.EVALUATOR = "Clasification"
    with pytest.raises(ValueError, match=r"do you mean \[Classification\]"):
        build_evaluator(cfg)


# ----------------------------------------------------------------- config


def test_config_defaults_and_types() -> None:
    cfg = get_cfg_default()
    assert cfg.INPUT.SIZE == (224, 224) and cfg.OPTIM.STEPSIZE == (-1,)
    assert isinstance(cfg.OPTIM.MAX_EPOCH, int) and isinstance(cfg.OPTIM.LR, float)
    assert cfg.OPTIM.WARMUP_CONS_LR == 1e-5 and cfg.DATALOADER.NUM_WORKERS == 4
    assert cfg.TEST.FINAL_MODEL == "last_step" and cfg.TRAINER.FIXMATCH.CONF_THRE == 0.95
    assert get_cfg_default() is not cfg  # a fresh clone every time
    cfg.OPTIM.LR = 1.0
    assert get_cfg_default().OPTIM.LR == 0.0003


def test_config_merge_rules(tmp_path: Path) -> None:
    cfg = get_cfg_default()
    good = tmp_path / "good.yaml"
    good.write_text('INPUT:\n  SIZE: "(32, 32)"\nOPTIM:\n  LR: 1e-5\n  MAX_EPOCH: 5\n  STEPSIZE: [3, 4]\n')
    cfg.merge_from_file(str(good))
    assert cfg.INPUT.SIZE == (32, 32) and isinstance(cfg.INPUT.SIZE, tuple)
    assert cfg.OPTIM.LR == 1e-5 and isinstance(cfg.OPTIM.LR, float)  # YAML reads 1e-5 as a string
    assert cfg.OPTIM.STEPSIZE == (3, 4)  # list converted to the default's tuple

    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("OPTIM:\n  NO_SUCH_KEY: 1\n")
    with pytest.raises(KeyError, match="NO_SUCH_KEY"):
        cfg.merge_from_file(str(unknown))
    wrong_type = tmp_path / "wrong_type.yaml"
    wrong_type.write_text("OPTIM:\n  MAX_EPOCH: 10.0\n")
    with pytest.raises(ValueError, match="MAX_EPOCH"):
        cfg.merge_from_file(str(wrong_type))

    cfg.merge_from_list(["OPTIM.LR", "2e-3", "INPUT.SIZE", "(16, 16)"])
    assert cfg.OPTIM.LR == 2e-3 and cfg.INPUT.SIZE == (16, 16)
    with pytest.raises(AssertionError):
        cfg.merge_from_list(["OPTIM.LR"])
    with pytest.raises(AssertionError, match="Non-existent key: OPTIM.NOPE"):  # yacs asserts here
        cfg.merge_from_list(["OPTIM.NOPE", "1"])

    text = str(cfg)
    assert text.index("DATALOADER") < text.index("DATASET") < text.index("INPUT") < text.index("OPTIM")
    cfg.freeze()
    with pytest.raises(AttributeError):
        cfg.OPTIM.LR = 0.1


# ----------------------------------------------------------------- learning-rate schedules


def _run_schedule(optim_overrides: dict[str, Any], epochs: int) -> list[float]:
    cfg = get_cfg_default()
    cfg.OPTIM.NAME, cfg.OPTIM.LR = "sgd", 0.002
    for key, value in optim_overrides.items():
        setattr(cfg.OPTIM, key, value)
    optimizer = build_optimizer(nn.Linear(2, 2), cfg.OPTIM)
    return run_epochs(optimizer, build_lr_scheduler(optimizer, cfg.OPTIM), epochs)


def test_cosine_with_constant_warmup_matches_reference_values() -> None:
    lrs = _run_schedule(dict(LR_SCHEDULER="cosine", MAX_EPOCH=10, WARMUP_EPOCH=1, WARMUP_TYPE="constant"), 10)
    assert lrs == pytest.approx(REFERENCE_LRS, rel=2e-3)


def test_linear_warmup_and_step_schedules() -> None:
    lrs = _run_schedule(dict(LR_SCHEDULER="cosine", MAX_EPOCH=10, WARMUP_EPOCH=3, WARMUP_TYPE="linear"), 6)
    expected = [1e-5, 0.002 / 3, 0.002 * 2 / 3, 0.002, 0.002 * (1 + 0.9510565) / 2, 1.809e-3]
    assert lrs == pytest.approx(expected, rel=2e-3)
    lrs = _run_schedule(dict(LR_SCHEDULER="cosine", MAX_EPOCH=10, WARMUP_EPOCH=1, WARMUP_TYPE="linear"), 3)
    assert lrs == pytest.approx([1e-5, 2e-3, 1.951e-3], rel=2e-3)
    assert _run_schedule(dict(LR_SCHEDULER="single_step", STEPSIZE=(2,), GAMMA=0.5), 5) == pytest.approx(
        [0.002, 0.002, 0.001, 0.001, 0.0005]
    )
    assert _run_schedule(dict(LR_SCHEDULER="multi_step", STEPSIZE=(1, 3), GAMMA=0.1), 4) == pytest.approx(
        [0.002, 0.0002, 0.0002, 0.00002]
    )
    with pytest.raises(ValueError, match="WARMUP_TYPE"):
        _run_schedule(dict(WARMUP_EPOCH=1, WARMUP_TYPE="exp"), 1)
    with pytest.raises(ValueError, match="LR_SCHEDULER"):
        _run_schedule(dict(LR_SCHEDULER="poly"), 1)
    with pytest.raises(ValueError, match="OPTIM.NAME"):
        _run_schedule(dict(NAME="lion"), 1)


@pytest.mark.parametrize("warmup_type", ["constant", "linear"])
@pytest.mark.parametrize("stop_after", [0, 1, 4])
def test_resumed_schedule_continues_like_an_uninterrupted_run(warmup_type: str, stop_after: int) -> None:
    """Save after ``stop_after`` epochs, reload into fresh objects (weights_only), continue."""
    cfg = with_reference_optim(get_cfg_default(), WARMUP_EPOCH=2, WARMUP_TYPE=warmup_type)

    def fresh() -> tuple[Any, Any]:
        optimizer = build_optimizer(nn.Linear(2, 2), cfg.OPTIM)
        return optimizer, build_lr_scheduler(optimizer, cfg.OPTIM)

    reference = run_epochs(*fresh(), 10)
    resumed = lrs_after_resume(fresh, stop_after, weights_only=True)  # plain data only
    assert resumed == pytest.approx(reference[stop_after:], rel=1e-9)


def test_warmup_scheduler_reads_legacy_state_with_pickled_successor() -> None:
    """Upstream checkpoints store the successor object; only its state may be used."""
    cfg = with_reference_optim(get_cfg_default())
    optimizer = build_optimizer(nn.Linear(2, 2), cfg.OPTIM)
    scheduler = build_lr_scheduler(optimizer, cfg.OPTIM)
    run_epochs(optimizer, scheduler, 3)
    legacy = {k: v for k, v in scheduler.__dict__.items() if k != "optimizer"}  # successor as an object
    legacy = pickle.loads(pickle.dumps({"optimizer": optimizer.state_dict(), "scheduler": legacy}))
    new_optimizer = build_optimizer(nn.Linear(2, 2), cfg.OPTIM)
    new_scheduler = build_lr_scheduler(new_optimizer, cfg.OPTIM)
    new_optimizer.load_state_dict(legacy["optimizer"])
    new_scheduler.load_state_dict(legacy["scheduler"])
    lrs = run_epochs(new_optimizer, new_scheduler, 4)[1:]  # the lrs after each of 3 steps: epochs 4 to 6
    assert lrs == pytest.approx(REFERENCE_LRS[4:7], rel=2e-3)  # not frozen


# ----------------------------------------------------------------- checkpoints


def test_save_checkpoint_layout_keys_and_module_prefix(tmp_path: Path) -> None:
    state = {
        "state_dict": {"module.fc.weight": torch.ones(2), "head.bias": torch.zeros(1)},
        "epoch": 3,
        "optimizer": {"param_groups": []},
        "scheduler": {"last_epoch": 3},
        "val_result": None,
    }
    fpath = save_checkpoint(state, str(tmp_path / "model"), is_best=True)
    assert fpath == str(tmp_path / "model" / "model.pth.tar-3")
    assert "module.fc.weight" in state["state_dict"]  # caller's dict untouched
    assert sorted(os.listdir(tmp_path / "model")) == ["checkpoint", "model-best.pth.tar", "model.pth.tar-3"]
    assert (tmp_path / "model" / "checkpoint").read_text() == "model.pth.tar-3\n"
    loaded = torch.load(fpath, weights_only=True)
    assert set(loaded) == CHECKPOINT_KEYS and loaded["epoch"] == 3
    assert list(loaded["state_dict"]) == ["fc.weight", "head.bias"]
    assert (tmp_path / "model" / "model-best.pth.tar").read_bytes() == Path(fpath).read_bytes()
    save_checkpoint(dict(state, epoch=4), str(tmp_path / "model"), model_name="model-best.pth.tar")
    assert (tmp_path / "model" / "checkpoint").read_text() == "model-best.pth.tar\n"
    (tmp_path / "plain").write_text("x")  # same permissions as any file we create (not mkstemp's 0o600)
    assert os.stat(fpath).st_mode == os.stat(tmp_path / "plain").st_mode


def test_failing_save_leaves_previous_checkpoint_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "model"
    save_checkpoint({"state_dict": {"w": torch.ones(3)}, "epoch": 1}, str(directory), model_name="m.pth")
    before = (directory / "m.pth").read_bytes()

    def crash(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"state_dict": {"w": torch.zeros(3)}, "epoch": 2}, str(directory), model_name="m.pth")
    assert (directory / "m.pth").read_bytes() == before
    assert sorted(os.listdir(directory)) == ["checkpoint", "m.pth"]  # no temporary file left


def test_load_checkpoint_errors_and_legacy_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        load_checkpoint(str(tmp_path / "nothing.pth"))
    legacy_path = tmp_path / "legacy.pth.tar"
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    successor = torch.optim.lr_scheduler.StepLR(optimizer, 1)  # pickled object, as upstream writes
    torch.save({"state_dict": {}, "epoch": 1, "scheduler": {"successor": successor}}, legacy_path)
    loaded = load_checkpoint(str(legacy_path))
    assert loaded["epoch"] == 1
    out = capsys.readouterr().out
    assert "Warning" in out and str(legacy_path) in out and "weights_only=False" in out


def test_load_pretrained_weights_matches_names_and_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    path = tmp_path / "w.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    target = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 5))  # second layer differs in shape
    load_pretrained_weights(target, str(path))
    assert torch.equal(target[0].weight, source[0].weight)
    assert not torch.equal(target[1].bias[:2], source[1].bias)
    assert "discarded" in capsys.readouterr().out
    torch.save({"other.weight": torch.ones(1)}, path)
    with pytest.warns(UserWarning, match="no key matched"):
        load_pretrained_weights(target, str(path))
    assert count_num_param(target) == 4 * 3 + 3 + 3 * 5 + 5


# ----------------------------------------------------------------- evaluation and metrics


def _cfg_for_eval(**test: Any) -> Any:
    cfg = get_cfg_default()
    for key, value in test.items():
        setattr(cfg.TEST, key, value)
    return cfg


def test_classification_evaluator_printed_lines(capsys: pytest.CaptureFixture[str]) -> None:
    evaluator = Classification(_cfg_for_eval(), lab2cname={0: "a", 1: "b"})
    labels = torch.tensor([i % 2 for i in range(1234)])
    preds = labels.clone()
    preds[:234] = 1 - preds[:234]
    for chunk in range(0, 1234, 500):  # several batches
        evaluator.process(nn.functional.one_hot(preds[chunk : chunk + 500], 2).float(), labels[chunk : chunk + 500])
    results = evaluator.evaluate()
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == ["=> result", "* total: 1,234", "* correct: 1,000", "* accuracy: 81.0%", "* error: 19.0%"]
    assert re.fullmatch(r"\* macro_f1: \d+\.\d%", lines[5]) and len(lines) == 6
    assert list(results) == ["accuracy", "error_rate", "macro_f1"]
    assert results["accuracy"] == pytest.approx(100 * 1000 / 1234)


def test_classification_evaluator_values_and_per_class(capsys: pytest.CaptureFixture[str]) -> None:
    evaluator = Classification(_cfg_for_eval(PER_CLASS_RESULT=True), lab2cname={0: "a", 1: "b", 2: "c"})
    y_true = torch.tensor([0, 0, 1, 1])
    y_pred = torch.tensor([0, 2, 1, 1])  # class 2 predicted but absent: excluded from macro-F1
    evaluator.process(nn.functional.one_hot(y_pred, 3).float(), y_true)
    results = evaluator.evaluate()
    # F1(class 0) = 2/3 (P=1, R=1/2); F1(class 1) = 1 (P=1, R=1)
    assert results["accuracy"] == 75.0 and results["error_rate"] == 25.0
    assert results["macro_f1"] == pytest.approx(100 * (2 / 3 + 1) / 2)
    assert results["perclass_accuracy"] == 75.0
    out = capsys.readouterr().out
    assert "* macro_f1: 83.3%" in out and "* class: 0 (a)\ttotal: 2\tcorrect: 1\tacc: 50.0%" in out
    assert "* average: 75.0%" in out
    evaluator.reset()
    with pytest.raises(RuntimeError, match="no predictions"):
        evaluator.evaluate()


def test_compute_accuracy_topk_and_meters() -> None:
    logits = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.15, 0.05], [0.2, 0.3, 0.5], [0.3, 0.4, 0.3]])
    target = torch.tensor([1, 1, 0, 2])
    top1, top2 = compute_accuracy(logits, target, topk=(1, 2))
    assert top1.shape == (1,) and top1.item() == 25.0 and top2.item() == 50.0
    assert compute_accuracy((logits, None), target)[0].item() == 25.0
    meter = MetricMeter()
    meter.update({"loss": 1.0, "acc": torch.tensor(50.0)})
    meter.update({"loss": 0.5, "acc": 100.0})
    assert str(meter) == "loss 0.5000 (0.7500) acc 100.0000 (75.0000)"
    with pytest.raises(TypeError, match="dict"):
        meter.update(0.5)  # type: ignore[arg-type]


# ----------------------------------------------------------------- data


def test_datum_checks_file_and_pickles_by_upstream_module_path(tmp_path: Path) -> None:
    (path, label, cname), *_ = _write_images(tmp_path, {"cat": 1})
    datum = Datum(impath=path, label=label, domain=2, classname=cname)
    assert (datum.impath, datum.label, datum.domain, datum.classname) == (path, 0, 2, "cat")
    with pytest.raises(AttributeError):
        datum.label = 1  # type: ignore[misc]
    data = pickle.dumps([datum], protocol=2)
    assert b"dassl.data.datasets.base_dataset" in data and b"Datum" in data
    (restored,) = pickle.loads(data)
    assert type(restored) is Datum
    assert vars(restored) == {"_impath": path, "_label": 0, "_domain": 2, "_classname": "cat"}
    with pytest.raises(AssertionError, match="no image file"):
        Datum(impath=str(tmp_path / "missing.jpg"))
    with pytest.raises(FileNotFoundError):
        Datum(impath=str(tmp_path / "missing.jpg"))


def _datums(tmp_path: Path, per_class: dict[str, int]) -> list[Datum]:
    return [Datum(p, lab, domain=lab % 2, classname=c) for p, lab, c in _write_images(tmp_path, per_class)]


def test_fewshot_sampling_counts_and_determinism(tmp_path: Path) -> None:
    data = _datums(tmp_path, {"a": 5, "b": 5, "c": 2})
    base = DatasetBase(train_x=data)
    assert base.num_classes == 3 and base.classnames == ["a", "b", "c"] and base.lab2cname == {0: "a", 1: "b", 2: "c"}

    def sample(**kwargs: Any) -> Any:
        random.seed(1)
        return base.generate_fewshot_dataset(data, **kwargs)

    few = sample(num_shots=3)
    counts = {label: sum(d.label == label for d in few) for label in range(3)}
    assert counts == {0: 3, 1: 3, 2: 2}
    assert [d.impath for d in few] == [d.impath for d in sample(num_shots=3)]
    random.seed(1)
    expected = random.sample(data[:5], 3) + random.sample(data[5:10], 3)
    assert few[:6] == expected  # global `random`, classes in first-seen order
    assert sum(d.label == 2 for d in sample(num_shots=3, repeat=True)) == 3
    assert sample(num_shots=-1) is data
    train, val = base.generate_fewshot_dataset(data, data, num_shots=1)
    assert len(train) == len(val) == 3
    by_domain = base.split_dataset_by_domain(data)
    assert sorted(by_domain) == [0, 1] and len(by_domain[0]) == 7
    assert [len(v) for v in base.split_dataset_by_label(data).values()] == [5, 5, 2]


def test_read_image_rgb_and_clear_errors(tmp_path: Path) -> None:
    Image.new("L", (4, 4), 100).save(tmp_path / "grey.png")
    assert read_image(tmp_path / "grey.png").mode == "RGB"
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"this is not an image")
    with pytest.raises(OSError, match="corrupt.jpg"):
        read_image(corrupt)
    Image.new("RGB", (64, 64), (1, 2, 3)).save(tmp_path / "full.png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes((tmp_path / "full.png").read_bytes()[:60])
    with pytest.raises(OSError, match="truncated.png"):
        read_image(truncated)
    with pytest.raises(FileNotFoundError, match="absent.png"):
        read_image(tmp_path / "absent.png")


def _types(compose: Any) -> list[str]:
    return [type(t).__name__ for t in compose.transforms]


def test_build_transform_order_train_and_test() -> None:
    cfg = get_cfg_default()
    cfg.INPUT.SIZE = (32, 32)
    choices = ["normalize", "random_flip", "random_resized_crop"]  # config order does not matter
    assert _types(build_transform(cfg, is_train=True, choices=choices)) == [
        "RandomResizedCrop", "RandomHorizontalFlip", "ToTensor", "Normalize"
    ]  # fmt: skip
    assert _types(build_transform(cfg, is_train=True, choices=["random_flip", "normalize"])) == [
        "Resize", "RandomHorizontalFlip", "ToTensor", "Normalize"
    ]  # fmt: skip
    test_tfm = build_transform(cfg, is_train=False, choices=choices)
    assert _types(test_tfm) == ["Resize", "CenterCrop", "ToTensor", "Normalize"]
    assert test_tfm.transforms[0].size == 32  # shorter edge to max(SIZE)
    out = test_tfm(Image.new("RGB", (48, 40), (10, 20, 30)))
    assert out.shape == (3, 32, 32)
    cfg.INPUT.NO_TRANSFORM = True
    assert build_transform(cfg, is_train=True) is None


def test_every_accepted_transform_name_builds_and_runs() -> None:
    cfg = get_cfg_default()
    cfg.INPUT.SIZE = (32, 32)
    cfg.INPUT.GB_K = 3
    cfg.INPUT.INTERPOLATION = "bicubic"
    random.seed(0)
    torch.manual_seed(0)
    tfm = build_transform(cfg, is_train=True, choices=AVAI_CHOICES)
    names = _types(tfm)
    assert names[:2] == ["Random2DTranslation", "RandomCrop"] and "Resize" not in names
    assert names.index("ToTensor") < names.index("Cutout") < names.index("Normalize")
    assert names[-2:] == ["GaussianNoise", "InstanceNormalization"]
    for _ in range(10):  # random ops: exercise several draws
        assert tfm(Image.new("RGB", (40, 36), (120, 60, 30))).shape == (3, 32, 32)
    with pytest.raises(ValueError, match=r"do you mean \[random_flip\]"):
        build_transform(cfg, is_train=True, choices=["random_flipp"])
    cfg.INPUT.INTERPOLATION = "lanczos"
    with pytest.raises(ValueError, match="INPUT.INTERPOLATION"):
        build_transform(cfg, is_train=False)


def test_randaugment_operations_keep_size_and_mode() -> None:
    from dassl.data.transforms import randaugment as ra

    image = Image.new("RGB", (24, 20), (200, 100, 50))
    for op, low, high in ra.RANDAUGMENT_OPS + ra.RANDAUGMENT2_OPS + ra.FIXMATCH_OPS:
        for value in (low, high):
            out = op(image, value)
            assert out.size == image.size and out.mode == "RGB", op.__name__
    with pytest.raises(ValueError, match="RANDAUGMENT_M"):
        ra.RandAugment(2, 31)


class _TaggingWrapper(DatasetWrapper):
    calls: list[tuple[bool, int, bool]] = []

    def __init__(self, cfg: Any, data_source: Any, transform: Any = None, is_train: bool = False) -> None:
        super().__init__(cfg, data_source, transform=transform, is_train=is_train)
        _TaggingWrapper.calls.append((is_train, len(data_source), transform is not None))

    def __getitem__(self, idx: int) -> dict[str, Any]:
        item = super().__getitem__(idx)
        item["tag"] = "wrapped"
        return item


def test_data_manager_with_dataset_wrapper_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _tiny_cfg(tmp_path)
    cfg.DATALOADER.RETURN_IMG0 = True
    _TaggingWrapper.calls = []
    dm = DataManager(cfg, dataset_wrapper=_TaggingWrapper)
    assert _TaggingWrapper.calls == [(True, 18, True), (False, 6, True), (False, 9, True)]  # train_x, val, test
    assert dm.num_classes == 3 and dm.lab2cname == {0: "cat", 1: "dog", 2: "fox"}
    assert dm.dataset.classnames == ["cat", "dog", "fox"] and dm.train_loader_u is None
    assert dm.train_loader_x.drop_last and not dm.test_loader.drop_last and len(dm.test_loader) == 3
    batch = next(iter(dm.train_loader_x))
    assert batch["tag"] == ["wrapped"] * 4 and batch["img"].shape == (4, 3, 8, 8)
    assert batch["img0"].shape == (4, 3, 8, 8) and set(batch) >= {"label", "domain", "impath", "index"}
    out = capsys.readouterr().out
    for row in ("Dataset", "FvgptTinyDataset", "# classes", "# train_x", "18", "# val", "# test"):
        assert row in out
    small = build_data_loader(cfg, "RandomSampler", dm.dataset.val[:2], batch_size=4, is_train=True)
    assert not small.drop_last and len(small) == 1  # fewer items than a batch: keep them
    with pytest.raises(ValueError, match="not provided by FVG-PT's Dassl fallback"):
        build_data_loader(cfg, "RandomDomainSampler", dm.dataset.val, batch_size=2)


def test_dataset_wrapper_k_transforms_and_transform_lists(tmp_path: Path) -> None:
    cfg = _tiny_cfg(tmp_path)
    cfg.DATALOADER.K_TRANSFORMS = 2
    data = _datums(tmp_path / "imgs", {"a": 1})
    tfm = build_transform(cfg, is_train=False)
    item = DatasetWrapper(cfg, data, transform=[tfm, tfm], is_train=True)[0]
    assert len(item["img"]) == 2 and len(item["img2"]) == 2 and item["img"][0].shape == (3, 8, 8)
    assert DatasetWrapper(cfg, data, transform=tfm, is_train=False)[0]["img"].shape == (3, 8, 8)
    with pytest.raises(ValueError, match="K_TRANSFORMS"):
        DatasetWrapper(cfg, data, transform=None, is_train=True)


# ----------------------------------------------------------------- trainer end to end

PROGRESS = re.compile(
    r"epoch \[(\d+)/3\] batch \[(\d+)/4\] time \d+\.\d{3} \(\d+\.\d{3}\) data \d+\.\d{3} \(\d+\.\d{3}\) "
    r"loss \d+\.\d{4} \(\d+\.\d{4}\) acc \d+\.\d{4} \(\d+\.\d{4}\) lr (\d\.\d{4}e-\d\d) eta \d+:\d\d:\d\d"
)


def test_trainer_lifecycle_progress_checkpoint_and_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    cfg = _tiny_cfg(tmp_path)
    trainer = build_trainer(cfg)
    assert trainer.calls == ["check_cfg(cfg set: False)", "build_data_loader", "build_model"]
    assert trainer.device.type == "cpu" and trainer.best_result == -float("inf")
    trainer.train()
    assert trainer.calls[3:] == [
        "before_train",
        *[f"{hook} {e}" for e in range(3) for hook in ("before_epoch", "run_epoch", "after_epoch")],
        "after_train",
    ]
    lines = capsys.readouterr().out.splitlines()
    progress = [m.groups() for m in map(PROGRESS.fullmatch, lines) if m]
    # 18 images / batch 4, drop_last -> 4 batches; PRINT_FREQ 2 -> batches 2 and 4
    assert [(e, b) for e, b, _ in progress] == [(e, b) for e in "123" for b in "24"]
    assert [float(lr) for _, _, lr in progress[::2]] == pytest.approx([1e-5, 2e-3, 1.5e-3], rel=1e-3)
    assert "Loading trainer: FvgptTinyTrainer" in lines and "No checkpoint found, train from scratch" in lines
    finish = lines.index("Finish training")
    assert lines[finish + 1 : finish + 3] == ["Deploy the last-epoch model", "Evaluate on the *test* set"]
    assert lines[finish + 3] == "=> result" and lines[finish + 4] == "* total: 9"
    assert re.fullmatch(r"Elapsed: \d+:\d\d:\d\d", lines[-1])
    model_dir = Path(cfg.OUTPUT_DIR) / "model"
    assert sorted(os.listdir(model_dir)) == ["checkpoint", "model.pth.tar-3"]
    checkpoint = torch.load(model_dir / "model.pth.tar-3", weights_only=True)
    assert set(checkpoint) == CHECKPOINT_KEYS and checkpoint["epoch"] == 3 and checkpoint["val_result"] is None
    assert isinstance(checkpoint["scheduler"]["successor"], dict)
    assert list((Path(cfg.OUTPUT_DIR) / "tensorboard").glob("events.out.tfevents.*"))
    assert trainer.test() == pytest.approx(trainer.evaluator.evaluate()["accuracy"])


def test_trainer_resumes_after_a_crash_with_the_same_learning_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = dict(MAX_EPOCH=5)
    reference = build_trainer(_with_freq(_tiny_cfg(tmp_path / "ref", **overrides)))
    reference.train()

    cfg = _with_freq(_tiny_cfg(tmp_path / "run", **overrides))
    crashed = build_trainer(cfg)
    crashed.crash_at_epoch = 3
    with pytest.raises(KeyboardInterrupt):
        crashed.train()
    assert (Path(cfg.OUTPUT_DIR) / "model" / "checkpoint").read_text() == "model.pth.tar-3\n"
    capsys.readouterr()

    resumed = build_trainer(cfg)
    resumed.train()
    out = capsys.readouterr().out
    assert f"Found checkpoint at {cfg.OUTPUT_DIR} (will resume training)" in out and "Previous epoch: 3" in out
    assert resumed.calls[4] == "before_epoch 3"
    assert resumed.epoch_lrs == pytest.approx(reference.epoch_lrs[3:], rel=1e-9)
    assert crashed.epoch_lrs[:3] == pytest.approx(reference.epoch_lrs[:3], rel=1e-9)
    assert sorted(os.listdir(Path(cfg.OUTPUT_DIR) / "model"))[-1] == "model.pth.tar-5"


def _with_freq(cfg: Any) -> Any:
    cfg.TRAIN.CHECKPOINT_FREQ = 1
    cfg.TRAIN.PRINT_FREQ = 100
    return cfg


def test_best_val_saves_best_model_and_reloads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _tiny_cfg(tmp_path, MAX_EPOCH=2)
    cfg.TEST.FINAL_MODEL = "best_val"
    trainer = build_trainer(cfg)
    trainer.train()
    out = capsys.readouterr().out
    assert "Evaluate on the *val* set" in out and "Deploy the model with the best val performance" in out
    best = torch.load(Path(cfg.OUTPUT_DIR) / "model" / "model-best.pth.tar", weights_only=True)
    assert best["val_result"] == trainer.best_result
    assert re.search(r"Load .*model-best\.pth\.tar to model \(epoch=\d, val_result=\d+\.\d\)", out)


def test_setup_logger_tees_stdout_and_keeps_old_logs(tmp_path: Path) -> None:
    console = sys.stdout
    try:
        first = setup_logger(str(tmp_path))
        print("hello log")
        sys.stdout.flush()
        assert first == str(tmp_path / "log.txt") and "hello log" in Path(first).read_text()
        second = setup_logger(str(tmp_path))
        assert second is not None and second != first and second.startswith(first + "-")
        assert sys.stdout.console is console  # re-running replaces the tee instead of stacking
        print("second run")
        sys.stdout.flush()
        assert "second run" not in Path(first).read_text() and "second run" in Path(second).read_text()
    finally:
        if sys.stdout is not console:
            sys.stdout.close()
            sys.stdout = console
    assert not console.closed
