"""FVG_CoOp: stage 2 on a tuned CoOp, through train.py and in-process."""
import re
import shutil

import pytest
import torch

from conftest import make_cfg, run_train

TINY_FVG = "configs/trainers/FVG_CoOp/tiny_cpu.yaml"


def _args(trainer, config, root, seed="1"):
    return [
        "--root", str(root), "--seed", seed, "--trainer", trainer,
        "--dataset-config-file", "configs/datasets/synthetic.yaml", "--config-file", config,
    ]


@pytest.fixture(scope="module")
def stage1(tmp_path_factory, tiny_clip_path, synthetic_root):
    """A tuned CoOp on the base classes (the backbone stage)."""
    opts = ["MODEL.BACKBONE.NAME", str(tiny_clip_path), "DATASET.NUM_SHOTS", "4", "DATASET.SUBSAMPLE_CLASSES", "base"]
    out = tmp_path_factory.mktemp("stage1") / "CoOp"
    return run_train(_args("CoOp", "configs/trainers/CoOp/tiny_cpu.yaml", synthetic_root), out, opts), opts


@pytest.fixture(scope="module")
def stage2(tmp_path_factory, stage1, synthetic_root):
    run1, opts = stage1
    out = tmp_path_factory.mktemp("stage2") / "FVG_CoOp"
    fvg_opts = opts + ["TRAINER.FVG.BACKBONE_DIR", str(run1.output_dir)]
    return run_train(_args("FVG_CoOp", TINY_FVG, synthetic_root), out, fvg_opts), fvg_opts


def _trainer(stage1, synthetic_root, *extra, config=TINY_FVG, trainer="FVG_CoOp"):
    from dassl.engine import build_trainer

    run1, opts = stage1
    return build_trainer(make_cfg(
        _args(trainer, config, synthetic_root) + opts + ["TRAINER.FVG.BACKBONE_DIR", str(run1.output_dir), *extra]
    ))


def test_alias_resolves_to_the_same_class():
    import trainers  # noqa: F401
    from dassl.engine import TRAINER_REGISTRY

    assert TRAINER_REGISTRY.get("FVGPT_CoOp") is TRAINER_REGISTRY.get("FVG_CoOp")


def test_step_zero_base_branch_equals_backbone(stage1, synthetic_root):
    trainer = _trainer(stage1, synthetic_root)
    trainer.set_model_mode("eval")
    image = next(iter(trainer.test_loader))["img"].to(trainer.device)
    with torch.no_grad():
        z_full = trainer.branch_logits(image, "backbone")
        z_fdc = trainer.branch_logits(image, "base")
    assert torch.allclose(z_fdc, z_full.float(), atol=1e-4)
    assert torch.equal(z_fdc.argmax(1), z_full.argmax(1))


def test_backbone_branch_reproduces_stage1_exactly(stage1, synthetic_root):
    from dassl.engine import build_trainer

    run1, opts = stage1
    fvg = _trainer(stage1, synthetic_root, "TRAINER.FVG.EVAL_BRANCH", "backbone")
    coop = build_trainer(make_cfg(_args("CoOp", "configs/trainers/CoOp/tiny_cpu.yaml", synthetic_root) + opts))
    coop.load_model(str(run1.output_dir), epoch=2)
    assert fvg.test() == coop.test()
    assert round(fvg.test(), 1) == run1.accuracy


def test_training_changes_only_the_fvg_modules(stage1, synthetic_root, tmp_path, capsys):
    trainer = _trainer(stage1, synthetic_root, "OPTIM.MAX_EPOCH", "1", "OUTPUT_DIR", str(tmp_path))
    out = capsys.readouterr().out
    # adapters: 2 x (32*8 + 8 + 8*32 + 32); gates: 2 x (3*32 + 32 + 32 + 1)
    assert "# trainable params: 1,426" in out
    assert sum(p.numel() for p in trainer.fvg.parameters() if p.requires_grad) == 1426
    assert not any(p.requires_grad for p in trainer.model.parameters())
    backbone = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    head = {k: v.clone() for k, v in trainer.fvg.state_dict().items()}
    trainer.train()
    after = trainer.model.state_dict()
    assert all(torch.equal(backbone[k], after[k]) for k in backbone)
    changed = [k for k, v in trainer.fvg.state_dict().items() if not torch.equal(v, head[k])]
    assert any(k.startswith("image_adapter") for k in changed)
    assert any(k.startswith("text_adapter") for k in changed)
    assert any(k.startswith("frg") for k in changed) and any(k.startswith("brg") for k in changed)
    assert trainer.get_model_names() == ["fvg"]


def test_two_stage_cli(stage1, stage2, tmp_path, synthetic_root):
    run1, _ = stage1
    run2, fvg_opts = stage2
    log = run2.stdout
    progress = [line for line in log.splitlines() if line.startswith("epoch [")]
    assert progress and all(k in progress[-1] for k in ("loss_ce", "loss_dist", "loss_new", " r ", " b "))
    assert "FVG evaluation branch: base (z_FDC; TRAINER.FVG.EVAL_BRANCH auto" in log
    ckpt = torch.load(run2.output_dir / "fvg" / "model.pth.tar-2", weights_only=True)
    assert ckpt["trainer"] == "FVG_CoOp"
    assert ckpt["fvg_backbone"]["dir"] == str(run1.output_dir) and ckpt["fvg_backbone"]["epoch"] == 2
    assert all(k.split(".")[0] in {"image_adapter", "text_adapter", "frg", "brg"} for k in ckpt["state_dict"])
    assert sorted(p.name for p in run2.output_dir.iterdir() if p.is_dir()) == ["fvg", "tensorboard"]

    # eval-only restores backbone (recorded in the checkpoint) and FVG modules
    base_opts = [o for o in fvg_opts]
    i = base_opts.index("TRAINER.FVG.BACKBONE_DIR")
    del base_opts[i : i + 2]
    evald = run_train(
        _args("FVG_CoOp", TINY_FVG, synthetic_root) + ["--eval-only", "--model-dir", str(run2.output_dir), "--load-epoch", "2"],
        tmp_path / "base_eval", base_opts,
    )
    assert evald.accuracy == run2.accuracy
    new_opts = [o if o != "base" else "new" for o in base_opts]
    new = run_train(
        _args("FVG_CoOp", TINY_FVG, synthetic_root) + ["--eval-only", "--model-dir", str(run2.output_dir), "--load-epoch", "2"],
        tmp_path / "new_eval", new_opts,
    )
    assert "FVG evaluation branch: new (z_PC" in new.stdout
    assert 0.0 <= new.accuracy <= 100.0


@pytest.mark.parametrize(
    "subsample,branch,expected",
    [("base", "auto", "base"), ("all", "auto", "base"), ("new", "auto", "new"),
     ("base", "clip", "clip"), ("new", "backbone", "backbone")],
)
def test_branch_selection(stage1, synthetic_root, subsample, branch, expected, capsys):
    trainer = _trainer(stage1, synthetic_root, "DATASET.SUBSAMPLE_CLASSES", subsample, "TRAINER.FVG.EVAL_BRANCH", branch)
    assert trainer.eval_branch() == expected
    trainer.test()
    assert f"FVG evaluation branch: {expected} " in capsys.readouterr().out


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
    base = _args("FVG_CoOp", TINY_FVG, synthetic_root) + opts
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
    base = _args("FVG_CoOp", TINY_FVG, synthetic_root) + opts
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
    args = _args("FVG_CoOp", TINY_FVG, root_missing_masks) + opts + ["TRAINER.FVG.BACKBONE_DIR", str(run1.output_dir)]
    failed = run_train(args[: args.index("MODEL.BACKBONE.NAME")], tmp_path / "err", args[args.index("MODEL.BACKBONE.NAME"):], check=False)
    assert failed.proc.returncode != 0
    assert "TRAINER.FVG.MASK_POLICY" in failed.stdout and "epoch [" not in failed.stdout
    assert re.search(r"\d+ .*mask", failed.stdout)
    ok = run_train(
        args[: args.index("MODEL.BACKBONE.NAME")], tmp_path / "full",
        args[args.index("MODEL.BACKBONE.NAME"):] + ["TRAINER.FVG.MASK_POLICY", "full"],
    )
    assert "Finish training" in ok.stdout and re.search(r"\d+ .*(all-ones|full)", ok.stdout)
