"""The FVG stage's invariants on each of the three baselines (FVG_CoOp, FVG_KgCoOp, FVG_PromptSRC).

Stage 1 is the session-wide tiny CoOp / KgCoOp / PromptSRC run of conftest.py (base classes).
"""
import glob
import os

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO, make_cfg, run_train, trainer_flags

BASELINES = ("CoOp", "KgCoOp", "PromptSRC")
LAST_EPOCH = {"CoOp": 2, "KgCoOp": 2, "PromptSRC": 3}  # of the stage-1 tiny configs
MODEL_NAME = {"CoOp": "prompt_learner", "KgCoOp": "prompt_learner", "PromptSRC": "VLPromptLearner"}


@pytest.fixture(scope="module", params=BASELINES)
def stage1(request):
    """(baseline name, flags, opts, run) of the stage-1 run."""
    flags, opts, run = request.getfixturevalue(f"{request.param.lower()}_stage1")
    return request.param, flags, opts, run


def fvg_flags(baseline, root):
    return trainer_flags(f"FVG_{baseline}", f"configs/trainers/FVG_{baseline}/tiny_cpu.yaml", root)


def fvg_trainer(stage1, synthetic_root, *extra, backbone_dir=True):
    from dassl.engine import build_trainer
    from dassl.utils import set_random_seed

    baseline, _, opts, run = stage1
    set_random_seed(1)
    backbone = ["TRAINER.FVG.BACKBONE_DIR", str(run.output_dir)] if backbone_dir else []
    args = fvg_flags(baseline, synthetic_root) + opts + backbone + list(extra)
    return build_trainer(make_cfg(args))


def test_names_and_aliases():
    import trainers  # noqa: F401
    from dassl.engine import TRAINER_REGISTRY

    for baseline in BASELINES:
        cls = TRAINER_REGISTRY.get(f"FVG_{baseline}")
        assert TRAINER_REGISTRY.get(f"FVGPT_{baseline}") is cls and cls.baseline == baseline
        assert issubclass(cls, TRAINER_REGISTRY.get(baseline))
    assert TRAINER_REGISTRY.get("FVG_CoOp").shares_image_encoder
    assert TRAINER_REGISTRY.get("FVG_KgCoOp").shares_image_encoder
    assert not TRAINER_REGISTRY.get("FVG_PromptSRC").shares_image_encoder


RECIPES = sorted(
    os.path.relpath(p, REPO)
    for b in BASELINES for d in (b, f"FVG_{b}") for p in glob.glob(str(REPO / "configs" / "trainers" / d / "*.yaml"))
)


def test_every_trainer_has_recipes():
    for folder in ("KgCoOp", "PromptSRC", "FVG_KgCoOp", "FVG_PromptSRC"):
        assert sum(p.startswith(f"configs/trainers/{folder}/") for p in RECIPES) >= 2, folder


@pytest.mark.parametrize("path", RECIPES)
def test_recipes_parse(path):
    cfg = make_cfg(["--config-file", str(REPO / path)])
    if "PromptSRC" in path and "tiny" not in path:
        src = cfg.TRAINER.PROMPTSRC
        assert (src.N_CTX_VISION, src.N_CTX_TEXT, src.TEXT_LOSS_WEIGHT, src.IMAGE_LOSS_WEIGHT) == (4, 4, 25, 10)
        assert src.PROMPT_DEPTH_VISION == src.PROMPT_DEPTH_TEXT == (3 if "cross" in path else 9)
    if "KgCoOp" in path:
        assert cfg.TRAINER.COOP.CTX_INIT == "a photo of a" and cfg.TRAINER.COOP.W > 0


def test_step_zero_base_branch_equals_backbone(stage1, synthetic_root):
    trainer = fvg_trainer(stage1, synthetic_root)
    trainer.set_model_mode("eval")
    image = next(iter(trainer.test_loader))["img"].to(trainer.device)
    with torch.no_grad():
        z_full = trainer.branch_logits(image, "backbone")
        z_fdc = trainer.branch_logits(image, "base")
    assert torch.allclose(z_fdc, z_full.float(), atol=1e-4)
    assert torch.equal(z_fdc.argmax(1), z_full.argmax(1))


def test_backbone_branch_reproduces_stage1(stage1, synthetic_root):
    _, _, _, run = stage1
    trainer = fvg_trainer(stage1, synthetic_root, "TRAINER.FVG.EVAL_BRANCH", "backbone")
    assert round(trainer.test(), 1) == run.accuracy


def test_prior_image_features(stage1, synthetic_root):
    """f0: frozen prompt-free CLIP. One pass for (Kg)CoOp; a separate pass for PromptSRC's prompted encoder."""
    baseline = stage1[0]
    trainer = fvg_trainer(stage1, synthetic_root)
    image = next(iter(trainer.test_loader))["img"][:4].to(trainer.device)
    with torch.no_grad():
        f = trainer.model.encode_image(image)
        f0 = trainer.prior_image_features(image, f)
        frozen = F.normalize(trainer.clip_model.encode_image(image), dim=-1)
    assert torch.equal(f0, frozen)
    if baseline != "PromptSRC":
        assert f0 is f
    else:
        assert not torch.allclose(f, frozen, atol=1e-4)  # the tuned vision prompts act on f only


def test_training_changes_only_the_fvg_modules(stage1, synthetic_root, tmp_path):
    trainer = fvg_trainer(stage1, synthetic_root, "OPTIM.MAX_EPOCH", "1", "OUTPUT_DIR", str(tmp_path))
    assert not any(p.requires_grad for p in trainer.model.parameters())
    assert not any(p.requires_grad for p in trainer.clip_model.parameters())
    assert trainer.get_model_names() == ["fvg"]
    backbone = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    clip_state = {k: v.clone() for k, v in trainer.clip_model.state_dict().items()}
    head = {k: v.clone() for k, v in trainer.fvg.state_dict().items()}
    trainer.train()
    assert all(torch.equal(backbone[k], v) for k, v in trainer.model.state_dict().items())  # prompts: no GPA here
    assert all(torch.equal(clip_state[k], v) for k, v in trainer.clip_model.state_dict().items())
    changed = {k.split(".")[0] for k, v in trainer.fvg.state_dict().items() if not torch.equal(v, head[k])}
    assert changed == {"image_adapter", "text_adapter", "frg", "brg"}
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["fvg", "tensorboard"]


@pytest.mark.parametrize(
    "subsample,branch,expected",
    [("base", "auto", "base"), ("all", "auto", "base"), ("new", "auto", "new"), ("new", "clip", "clip")],
)
def test_branch_selection(stage1, synthetic_root, subsample, branch, expected, capsys):
    trainer = fvg_trainer(stage1, synthetic_root, "DATASET.SUBSAMPLE_CLASSES", subsample, "TRAINER.FVG.EVAL_BRANCH", branch)
    assert trainer.eval_branch() == expected
    trainer.test()
    assert f"FVG evaluation branch: {expected} " in capsys.readouterr().out


def test_backbone_of_the_other_baseline_is_refused(stage1, kgcoop_stage1, promptsrc_stage1, synthetic_root):
    from dassl.engine import build_trainer

    baseline, _, opts, _ = stage1
    other = (kgcoop_stage1 if baseline == "PromptSRC" else promptsrc_stage1)[2]
    args = fvg_flags(baseline, synthetic_root) + opts + ["TRAINER.FVG.BACKBONE_DIR", str(other.output_dir)]
    with pytest.raises(FileNotFoundError, match=f"No '{MODEL_NAME[baseline]}' checkpoint folder"):
        build_trainer(make_cfg(args))


@pytest.fixture(scope="module")
def stage2(stage1, synthetic_root, tmp_path_factory):
    baseline, _, opts, run = stage1
    out = tmp_path_factory.mktemp(f"fvg_{baseline}") / "seed1"
    fvg_opts = opts + ["TRAINER.FVG.BACKBONE_DIR", str(run.output_dir)]
    return run_train(fvg_flags(baseline, synthetic_root), out, fvg_opts)


def test_two_stage_cli_with_base_and_new_evaluation(stage1, stage2, synthetic_root, tmp_path, capsys):
    baseline, _, opts, run1 = stage1
    log = stage2.stdout
    assert f'Loading weights to {MODEL_NAME[baseline]} from "{run1.output_dir}' in log
    progress = [line for line in log.splitlines() if line.startswith("epoch [")]
    assert progress and all(k in progress[-1] for k in ("loss_ce", "loss_dist", "loss_new", " r ", " b "))
    assert "GPA:" not in log and "FVG evaluation branch: base (z_FDC" in log
    ckpt = torch.load(stage2.output_dir / "fvg" / "model.pth.tar-2", weights_only=True)
    assert ckpt["trainer"] == f"FVG_{baseline}"
    assert ckpt["fvg_backbone"] == {"dir": os.path.abspath(run1.output_dir), "epoch": LAST_EPOCH[baseline], "trainer": baseline}

    # eval-only: the backbone comes from the record in the FVG checkpoint, no BACKBONE_DIR needed
    load = ["--eval-only", "--model-dir", str(stage2.output_dir), "--load-epoch", "2"]
    base = run_train(fvg_flags(baseline, synthetic_root) + load, tmp_path / "base", opts)
    assert base.accuracy == stage2.accuracy
    new = fvg_trainer(stage1, synthetic_root, "DATASET.SUBSAMPLE_CLASSES", "new", backbone_dir=False)
    new.load_model(str(stage2.output_dir), epoch=2)  # as --eval-only does (in-process: one start-up less)
    assert new.cfg.DATASET.SUBSAMPLE_CLASSES == "new" and new.eval_branch() == "new"
    assert 0.0 <= new.test() <= 100.0
    assert "FVG evaluation branch: new (z_PC" in capsys.readouterr().out
