"""CoOp end to end through train.py on the synthetic dataset, plus its trainer-level guarantees."""
import re

import pytest
import torch

from conftest import make_cfg, run_train


@pytest.fixture
def base_run(coop_stage1):
    """(flags, opts, run) of the session-wide tiny CoOp trained on the base classes."""
    return coop_stage1


def test_training_writes_the_coop_layout(base_run):
    _, _, run = base_run
    assert "Finish training" in run.stdout and "Deploy the last-epoch model" in run.stdout
    ckpt_dir = run.output_dir / "prompt_learner"
    assert (ckpt_dir / "model.pth.tar-2").is_file()
    assert (ckpt_dir / "checkpoint").read_text().strip() == "model.pth.tar-2"
    assert (run.output_dir / "log.txt").is_file()
    ckpt = torch.load(ckpt_dir / "model.pth.tar-2", weights_only=True)
    assert ckpt["epoch"] == 2 and ckpt["trainer"] == "CoOp"
    assert set(ckpt["state_dict"]) == {"ctx", "token_prefix", "token_suffix"}
    assert 0.0 <= run.accuracy <= 100.0


def test_eval_only_reproduces_accuracy(base_run, tmp_path):
    args, opts, run = base_run
    again = run_train(args + ["--eval-only", "--model-dir", str(run.output_dir), "--load-epoch", "2"], tmp_path / "ev", opts)
    assert again.accuracy == run.accuracy
    assert "Finish training" not in again.stdout


def test_new_class_evaluation_uses_new_names(base_run, tmp_path):
    args, opts, run = base_run
    new_opts = [o if o != "base" else "new" for o in opts]
    res = run_train(args + ["--eval-only", "--model-dir", str(run.output_dir), "--load-epoch", "2"], tmp_path / "new", new_opts)
    assert "Loading weights to prompt_learner" in res.stdout
    assert 0.0 <= res.accuracy <= 100.0


def test_same_seed_gives_identical_results(base_run, tmp_path):
    args, opts, run = base_run
    twin = run_train(args, tmp_path / "twin", opts)
    assert twin.accuracy == run.accuracy
    a = torch.load(run.output_dir / "prompt_learner" / "model.pth.tar-2", weights_only=True)["state_dict"]["ctx"]
    b = torch.load(twin.output_dir / "prompt_learner" / "model.pth.tar-2", weights_only=True)["state_dict"]["ctx"]
    assert torch.equal(a, b)


def test_finished_run_is_skipped_not_overwritten(base_run):
    args, opts, run = base_run
    before = (run.output_dir / "prompt_learner" / "model.pth.tar-2").stat().st_mtime_ns
    again = run_train(args, run.output_dir, opts)
    assert "already holds a finished run" in again.stdout
    assert (run.output_dir / "prompt_learner" / "model.pth.tar-2").stat().st_mtime_ns == before


def test_text_features_computed_once_per_test(coop_args):
    from dassl.engine import build_trainer

    trainer = build_trainer(make_cfg(coop_args + ["DATALOADER.TEST.BATCH_SIZE", "7"]))
    calls = []
    original = trainer.model.encode_text
    trainer.model.encode_text = lambda: calls.append(1) or original()
    assert len(trainer.test_loader) > 1
    trainer.test()
    assert len(calls) == 1
    trainer.test()  # a new evaluation recomputes (the weights may have changed in between)
    assert len(calls) == 2


def test_only_the_context_is_trainable(coop_args):
    from dassl.engine import build_trainer

    trainer = build_trainer(make_cfg(coop_args))
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable == ["prompt_learner.ctx"]
    assert trainer.get_model_names() == ["prompt_learner"]


def test_eval_only_with_missing_epoch_names_path_and_saved_epochs(base_run, tmp_path):
    args, opts, run = base_run
    res = run_train(args + ["--eval-only", "--model-dir", str(run.output_dir), "--load-epoch", "7"], tmp_path / "x", opts, check=False)
    assert res.proc.returncode != 0
    assert "model.pth.tar-7" in res.stdout and "epochs saved in" in res.stdout and ": 2)" in res.stdout


def test_unknown_trainer_lists_available(coop_args, tmp_path):
    args = [a if a != "CoOp" else "CoOpp" for a in coop_args]
    res = run_train(args, tmp_path / "bad", check=False)
    assert res.proc.returncode != 0
    error = [line for line in res.stdout.splitlines() if "Error" in line and "CoOpp" in line][-1]
    assert re.search(r"\bCoOp\b", error), error  # the available names are listed


def test_missing_config_file_is_named(coop_args, tmp_path):
    args = [a if a != "configs/trainers/CoOp/tiny_cpu.yaml" else "configs/nope.yaml" for a in coop_args]
    res = run_train(args, tmp_path / "bad", check=False)
    assert res.proc.returncode != 0 and "--config-file configs/nope.yaml: no such file" in res.stdout
