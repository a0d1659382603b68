"""FVG_CoOp specifics beyond the invariants all FVG trainers share (tests/test_fvg_stage.py):
exact agreement with CoOp, the head's size, the CLIP prior, backbone and mask errors."""
import math
import re
import shutil

import pytest
import torch

from conftest import make_cfg, run_train, trainer_flags

TINY_FVG = "configs/trainers/FVG_CoOp/tiny_cpu.yaml"


@pytest.fixture
def stage1(coop_stage1):
    """(run, opts) of the session-wide tiny CoOp trained on the base classes."""
    _, opts, run = coop_stage1
    return run, opts


def _trainer(stage1, synthetic_root, *extra, config=TINY_FVG, trainer="FVG_CoOp"):
    from dassl.engine import build_trainer

    run1, opts = stage1
    return build_trainer(make_cfg(
        trainer_flags(trainer, config, synthetic_root) + opts + ["TRAINER.FVG.BACKBONE_DIR", str(run1.output_dir), *extra]
    ))


def test_backbone_branch_reproduces_stage1_exactly(stage1, synthetic_root):
    from dassl.engine import build_trainer

    run1, opts = stage1
    fvg = _trainer(stage1, synthetic_root, "TRAINER.FVG.EVAL_BRANCH", "backbone")
    coop = build_trainer(make_cfg(trainer_flags("CoOp", "configs/trainers/CoOp/tiny_cpu.yaml", synthetic_root) + opts))
    coop.load_model(str(run1.output_dir), epoch=2)
    assert fvg.test() == coop.test()
    assert round(fvg.test(), 1) == run1.accuracy


def test_head_size_is_printed_and_is_all_that_trains(stage1, synthetic_root, capsys):
    trainer = _trainer(stage1, synthetic_root)
    # adapters: 2 x (32*8 + 8 + 8*32 + 32); gates: 2 x (3*32 + 32 + 32 + 1)
    assert "# trainable params: 1,426" in capsys.readouterr().out
    assert sum(p.numel() for p in trainer.fvg.parameters() if p.requires_grad) == 1426
    assert not any(p.requires_grad for p in trainer.model.parameters())


def test_branches_give_different_logits_and_clip_is_zero_shot(stage1, synthetic_root):
    trainer = _trainer(stage1, synthetic_root, "DATASET.SUBSAMPLE_CLASSES", "new")
    trainer.set_model_mode("eval")
    image = next(iter(trainer.test_loader))["img"].to(trainer.device)
    with torch.no_grad():
        z_clip = trainer.branch_logits(image, "clip")
        f = torch.nn.functional.normalize(trainer.clip_model.encode_image(image).float(), dim=-1)
        from fvgpt.text_encoder import encode_texts

        g0 = encode_texts(trainer.clip_model, [f"a photo of a {c.replace('_', ' ')}." for c in trainer.dm.dataset.classnames])
        expected = trainer.clip_model.logit_scale.exp() * f @ g0.t()
        z_pc = trainer.branch_logits(image, "new")
    assert torch.allclose(z_clip, expected, atol=1e-4)
    assert not torch.allclose(z_pc, z_clip)


def test_missing_backbone_dir_and_epoch_are_clear(stage1, synthetic_root, tmp_path):
    from dassl.engine import build_trainer

    run1, opts = stage1
    base = trainer_flags("FVG_CoOp", TINY_FVG, synthetic_root) + opts
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_trainer(make_cfg(base + ["TRAINER.FVG.BACKBONE_DIR", str(tmp_path / "nope")]))
    with pytest.raises(FileNotFoundError, match=r"epochs saved in .*: 2\)"):
        build_trainer(make_cfg(base + ["TRAINER.FVG.BACKBONE_DIR", str(run1.output_dir), "TRAINER.FVG.BACKBONE_EPOCH", "5"]))
    trainer = build_trainer(make_cfg(base))  # no backbone: fine for eval-only, an error for training
    with pytest.raises(ValueError, match="TRAINER.FVG.BACKBONE_DIR"):
        trainer.train()


def test_backbone_from_another_baseline_or_context_length(stage1, synthetic_root, tmp_path):
    from dassl.engine import build_trainer

    run1, opts = stage1
    other = tmp_path / "kg"
    shutil.copytree(run1.output_dir, other)
    ckpt_path = other / "prompt_learner" / "model.pth.tar-2"
    ckpt = torch.load(ckpt_path, weights_only=True)
    ckpt["trainer"] = "KgCoOp"
    torch.save(ckpt, ckpt_path)
    base = trainer_flags("FVG_CoOp", TINY_FVG, synthetic_root) + opts
    with pytest.raises(ValueError, match="holds a KgCoOp checkpoint"):
        build_trainer(make_cfg(base + ["TRAINER.FVG.BACKBONE_DIR", str(other)]))
    with pytest.raises(RuntimeError, match=r"'ctx' has shape \(4, 64\).*expects \(8, 64\)"):
        build_trainer(make_cfg(base + ["TRAINER.FVG.BACKBONE_DIR", str(run1.output_dir), "TRAINER.COOP.N_CTX", "8"]))


@pytest.fixture
def root_missing_masks(synthetic_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root)
    masks = sorted((root / "mask").rglob("*.png"))
    for m in masks[:: 3]:
        m.unlink()
    return root


def test_missing_masks_fail_fast_or_use_full_masks(stage1, root_missing_masks, tmp_path):
    run1, opts = stage1
    args = trainer_flags("FVG_CoOp", TINY_FVG, root_missing_masks) + opts + ["TRAINER.FVG.BACKBONE_DIR", str(run1.output_dir)]
    failed = run_train(args[: args.index("MODEL.BACKBONE.NAME")], tmp_path / "err", args[args.index("MODEL.BACKBONE.NAME"):], check=False)
    assert failed.proc.returncode != 0
    assert "TRAINER.FVG.MASK_POLICY" in failed.stdout and "epoch [" not in failed.stdout
    assert re.search(r"\d+ .*mask", failed.stdout)
    ok = run_train(
        args[: args.index("MODEL.BACKBONE.NAME")], tmp_path / "full",
        args[args.index("MODEL.BACKBONE.NAME"):] + ["TRAINER.FVG.MASK_POLICY", "full"],
    )
    assert "Finish training" in ok.stdout and re.search(r"\d+ .*(all-ones|full)", ok.stdout)


@pytest.mark.parametrize("kind", ["empty", "full", "one_pixel"])
def test_degenerate_masks_through_the_training_step(stage1, synthetic_root, tmp_path, kind):
    """An all-zero, an all-one and a one-pixel mask go through the real foreground view and step."""
    trainer = _trainer(stage1, synthetic_root, "OUTPUT_DIR", str(tmp_path))
    trainer.set_model_mode("train")
    batch = next(iter(trainer.train_loader_x))
    mask = torch.zeros_like(batch["mask"])
    if kind == "full":
        mask += 1
    elif kind == "one_pixel":
        mask[:, :, 5, 7] = 1
    batch["mask"] = mask
    trainer.num_batches, trainer.batch_idx = 10, 0
    before = {k: v.clone() for k, v in trainer.fvg.state_dict().items()}
    summary = trainer.forward_backward(batch)
    assert all(math.isfinite(v) for v in summary.values()), summary
    assert 0 < summary["r"] < 1 and 0 < summary["b"] < 1
    assert all(torch.isfinite(v).all() for v in trainer.fvg.state_dict().values())
    assert any(not torch.equal(v, before[k]) for k, v in trainer.fvg.state_dict().items())


def test_loss_parts_and_gates_reach_tensorboard(coop_stage1, synthetic_root, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, opts, run1 = coop_stage1
    out = tmp_path / "fvg"
    run_train(trainer_flags("FVG_CoOp", TINY_FVG, synthetic_root), out,
              opts + ["TRAINER.FVG.BACKBONE_DIR", str(run1.output_dir), "OPTIM.MAX_EPOCH", "1"])
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss_ce", "train/loss_dist", "train/loss_new", "train/r", "train/b", "train/lr"} <= tags
    r = [e.value for e in events.Scalars("train/r")]
    assert r and all(0 < v < 1 for v in r)
