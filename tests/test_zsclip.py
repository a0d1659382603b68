"""ZeroshotCLIP: frozen CLIP with the dataset's template, evaluated through train.py --eval-only."""
import pytest
import torch
import torch.nn.functional as F

from conftest import make_cfg, run_train


@pytest.fixture
def zs_args(tiny_clip_path, synthetic_root):
    """(flags, KEY VALUE opts) of a zero-shot evaluation on the new classes of the synthetic dataset."""
    return [
        "--root", str(synthetic_root), "--seed", "1", "--trainer", "ZeroshotCLIP",
        "--dataset-config-file", "configs/datasets/synthetic.yaml",
        "--config-file", "configs/trainers/ZeroshotCLIP/tiny_cpu.yaml",
    ], ["MODEL.BACKBONE.NAME", str(tiny_clip_path), "DATASET.SUBSAMPLE_CLASSES", "new"]


def test_predictions_are_frozen_clip_with_the_dataset_template(zs_args):
    import clip
    from dassl.engine import build_trainer

    trainer = build_trainer(make_cfg(zs_args[0] + zs_args[1]))
    assert trainer.template == "a photo of a {}."
    assert not [p for p in trainer.model.parameters() if p.requires_grad]
    assert trainer.get_model_names() == []
    model = trainer.clip_model
    batch = next(iter(trainer.test_loader))
    names = [c.replace("_", " ") for c in trainer.dm.dataset.classnames]
    with torch.no_grad():
        text = F.normalize(model.encode_text(clip.tokenize([f"a photo of a {c}." for c in names])).float(), dim=-1)
        image = F.normalize(model.encode_image(batch["img"]).float(), dim=-1)
        expected = model.logit_scale.exp() * image @ text.t()
    assert torch.allclose(trainer.model_inference(batch["img"]), expected, atol=1e-5)


def test_text_features_are_encoded_once_per_class_set(zs_args, monkeypatch):
    from dassl.engine import build_trainer
    import trainers.zsclip as zsclip

    trainer = build_trainer(make_cfg(zs_args[0] + zs_args[1] + ["DATALOADER.TEST.BATCH_SIZE", "7"]))
    calls = []
    original = zsclip.encode_texts
    monkeypatch.setattr(zsclip, "encode_texts", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert len(trainer.test_loader) > 1
    trainer.test()
    trainer.test()
    assert len(calls) == 1  # frozen: nothing can change the features of the same class set
    trainer.current_classnames = lambda: ("another", "class set")  # the class set changes
    trainer.class_text_features()
    assert len(calls) == 2


def test_eval_only_with_an_empty_model_dir_prints_an_accuracy(zs_args, tmp_path):
    flags, opts = zs_args
    run = run_train(flags + ["--eval-only", "--model-dir", ""], tmp_path / "zs", opts)
    assert 0.0 <= run.accuracy <= 100.0
    assert "prompt template: 'a photo of a {}.'" in run.stdout


def test_a_model_dir_is_ignored_and_training_is_refused(zs_args, tmp_path, capsys):
    from dassl.engine import build_trainer

    trainer = build_trainer(make_cfg(zs_args[0] + zs_args[1]))
    trainer.load_model(str(tmp_path), epoch=3)
    assert "ignoring --model-dir" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="ZeroshotCLIP has nothing to train.*--eval-only"):
        trainer.train()
