"""KgCoOp: the knowledge-guided term against hand computations, W = 0 is CoOp, and the train.py round trip."""
import math

import pytest
import torch
import torch.nn.functional as F

from conftest import build, trainer_flags


def kgcoop_args(clip_path, root, config="configs/trainers/KgCoOp/tiny_cpu.yaml", trainer="KgCoOp"):
    """Flags, then the KEY VALUE pairs every run shares (more pairs may follow)."""
    return trainer_flags(trainer, config, root) + ["MODEL.BACKBONE.NAME", str(clip_path), "DATASET.NUM_SHOTS", "4"]


def test_kg_loss_matches_hand_computation():
    from fvgpt.regularizers import knowledge_guidance_loss

    text = torch.tensor([[1.0, 0.0], [0.6, 0.8], [3.0, 4.0]])
    anchor = torch.tensor([[0.0, 2.0], [1.0, 0.0], [4.0, 3.0]])  # not normalised: cosine does it
    cosines = [0.0, 0.6, 24.0 / 25.0]
    assert knowledge_guidance_loss(text, anchor).item() == pytest.approx(1.0 - sum(cosines) / 3, rel=1e-6)
    assert knowledge_guidance_loss(anchor, anchor).item() == pytest.approx(0.0, abs=1e-7)


def test_kgcoop_template_table():
    from fvgpt.templates import CUSTOM_TEMPLATES, dataset_template, kgcoop_template

    assert kgcoop_template("DescribableTextures") == "a photo of a {}, a type of texture."
    assert dataset_template("DescribableTextures") == "{} texture."
    for name in CUSTOM_TEMPLATES:
        if name != "DescribableTextures":
            assert kgcoop_template(name) == dataset_template(name)
    assert kgcoop_template("SomethingElse") == "a photo of a {}."


def test_trainer_loss_is_ce_plus_w_times_hand_computed_term(tiny_clip_path, synthetic_root):
    from fvgpt.text_encoder import encode_texts

    trainer = build(kgcoop_args(tiny_clip_path, synthetic_root) + ["TRAINER.COOP.CTX_INIT", "", "TRAINER.COOP.W", "3.0"])
    names = trainer.dm.dataset.classnames
    batch = next(iter(trainer.train_loader_x))
    image, label = trainer.parse_batch_train(batch)
    loss, logits, parts = trainer.compute_loss(image, label)

    with torch.no_grad():
        text = trainer.model.encode_text()
        anchor = encode_texts(trainer.clip_model, [f"a photo of a {n.replace('_', ' ')}." for n in names])
        cos = (F.normalize(text, dim=-1) * anchor).sum(-1)
        expected_kg = 1.0 - cos.mean().item()
        expected = F.cross_entropy(logits, label).item() + 3.0 * expected_kg
    assert expected_kg > 1e-3  # a random context is far from the template
    assert parts["loss_kg"] == pytest.approx(expected_kg, rel=1e-5)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_term_is_zero_when_the_context_reproduces_the_template(tiny_clip_path, synthetic_root):
    # CTX_INIT "a photo of a" + class at the end is exactly Synthetic's template "a photo of a {}."
    trainer = build(kgcoop_args(tiny_clip_path, synthetic_root))
    from fvgpt.regularizers import knowledge_guidance_loss

    with torch.no_grad():
        kg = knowledge_guidance_loss(trainer.model.encode_text(), trainer.anchor_text_features())
    assert kg.item() == pytest.approx(0.0, abs=1e-6)


def test_anchors_follow_the_current_class_names_and_are_not_saved(tiny_clip_path, synthetic_root):
    from fvgpt.text_encoder import encode_texts

    trainer = build(kgcoop_args(tiny_clip_path, synthetic_root))
    first = trainer.anchor_text_features().clone()
    trainer.model.set_classnames(["red_ball", "blue cube"])
    again = trainer.anchor_text_features()
    assert again.shape[0] == 2 and first.shape[0] == 10
    assert torch.equal(again, encode_texts(trainer.clip_model, ["a photo of a red ball.", "a photo of a blue cube."]))
    assert set(trainer.model.prompt_learner.state_dict()) == {"ctx", "token_prefix", "token_suffix"}


def test_w_zero_reduces_to_coop(tiny_clip_path, synthetic_root):
    args = kgcoop_args(tiny_clip_path, synthetic_root, "configs/trainers/CoOp/tiny_cpu.yaml", "CoOp")
    coop = build(args)
    kg = build([a if a != "CoOp" else "KgCoOp" for a in args] + ["TRAINER.COOP.W", "0.0"])
    assert torch.equal(coop.model.prompt_learner.ctx, kg.model.prompt_learner.ctx)
    batches = [b for _, b in zip(range(3), coop.train_loader_x)]
    for trainer in (coop, kg):
        trainer.set_model_mode("train")
        trainer.num_batches = len(batches)
        trainer.losses = []
        for i, batch in enumerate(batches):
            trainer.batch_idx = i
            trainer.losses.append(trainer.forward_backward(batch)["loss"])
    assert coop.losses == kg.losses
    assert torch.equal(coop.model.prompt_learner.ctx, kg.model.prompt_learner.ctx)
    assert not torch.equal(coop.model.prompt_learner.ctx, build(args).model.prompt_learner.ctx)  # it did train


def test_ctx_init_and_class_token_position_are_honoured(tiny_clip_path, synthetic_root):
    base = kgcoop_args(tiny_clip_path, synthetic_root)
    trainer = build(base + ["TRAINER.COOP.CTX_INIT", "a_picture_of", "TRAINER.COOP.CLASS_TOKEN_POSITION", "front"])
    pl = trainer.model.prompt_learner
    assert pl.n_ctx == 3 and pl.prompt_prefix == "a picture of" and pl.class_token_position == "front"
    coop = build([a if a != "KgCoOp" else "CoOp" for a in base]
                 + ["TRAINER.COOP.CTX_INIT", "a_picture_of", "TRAINER.COOP.CLASS_TOKEN_POSITION", "front"])
    assert torch.equal(pl(), coop.model.prompt_learner())
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable == ["prompt_learner.ctx"] and trainer.get_model_names() == ["prompt_learner"]


def test_reference_checkpoint_with_unused_modules_loads(tiny_clip_path, synthetic_root, tmp_path):
    trainer = build(kgcoop_args(tiny_clip_path, synthetic_root))
    pl = trainer.model.prompt_learner
    ctx = torch.randn_like(pl.ctx)
    state = {
        "ctx": ctx, "token_prefix": pl.token_prefix, "token_suffix": pl.token_suffix,
        "bias_vectors": torch.zeros(1, 512), "meta_net.linear1.weight": torch.zeros(512, 512),
        "meta_net.linear1.bias": torch.zeros(512),
    }
    (tmp_path / "prompt_learner").mkdir()
    torch.save({"state_dict": state, "epoch": 100}, tmp_path / "prompt_learner" / "model.pth.tar-100")
    trainer.load_model(str(tmp_path), epoch=100)
    assert torch.equal(pl.ctx, ctx)


def test_train_py_run_and_checkpoint(kgcoop_stage1):
    _, _, run = kgcoop_stage1
    assert "Finish training" in run.stdout and "loss_kg" in run.stdout
    ckpt = torch.load(run.output_dir / "prompt_learner" / "model.pth.tar-2", weights_only=True)
    assert ckpt["trainer"] == "KgCoOp"
    assert set(ckpt["state_dict"]) == {"ctx", "token_prefix", "token_suffix"}
    assert not math.isnan(run.accuracy)


def test_amp_step_updates_the_context(tiny_clip_path, synthetic_root):
    """The reference's amp branch crashes (its model returns a tuple); ours runs. CPU autocast stands in for CUDA's."""
    from fvgpt.precision import grad_scaler

    trainer = build(kgcoop_args(tiny_clip_path, synthetic_root))
    trainer.prec, trainer.scaler = "amp", grad_scaler("amp", trainer.device)
    before = trainer.model.prompt_learner.ctx.clone()
    trainer.set_model_mode("train")
    trainer.batch_idx, trainer.num_batches = 0, 2
    out = trainer.forward_backward(next(iter(trainer.train_loader_x)))
    assert math.isfinite(out["loss"]) and "loss_kg" in out
    assert not torch.equal(trainer.model.prompt_learner.ctx, before)
    assert trainer.anchor_text_features().dtype == torch.float32
