"""PromptSRC: deep prompt placement on stock CLIP, parameter counts, teachers, losses, GPA, train.py round trip."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from conftest import build, trainer_flags

CLASSES = ["red_ball", "blue cube", "green cone"]


@pytest.fixture(scope="module")
def clip3(tiny_clip_deep_path):
    from fvgpt.clip_loading import load_clip

    return load_clip(str(tiny_clip_deep_path)).float()


def vl_model(clip_model, depth_text=3, depth_vision=3, ctx_init="a photo of a", n_text=4, n_vision=4, seed=0):
    from fvgpt.vl_prompts import VLPromptedCLIP, VLPromptLearner

    torch.manual_seed(seed)
    learner = VLPromptLearner(
        CLASSES, clip_model.token_embedding, clip_model.visual.conv1.out_channels, n_ctx_text=n_text,
        n_ctx_vision=n_vision, depth_text=depth_text, depth_vision=depth_vision, ctx_init=ctx_init,
    )
    return VLPromptedCLIP(clip_model, learner)


def images(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g)


# ------------------------------------------------------------------ prompt sets


@pytest.mark.parametrize("depth_text,depth_vision", [(1, 0), (1, 1), (2, 0), (3, 2), (3, 3)])
def test_depth_d_gives_d_minus_1_deep_sets_per_modality(clip3, depth_text, depth_vision):
    model = vl_model(clip3, depth_text, depth_vision)
    pl = model.prompt_learner
    names = sorted(n for n, _ in pl.named_parameters())
    expected = ["ctx"] + [f"text_deep.{i}" for i in range(depth_text - 1)]
    if depth_vision:
        expected += ["vision_ctx"] + [f"vision_deep.{i}" for i in range(depth_vision - 1)]
    assert names == sorted(expected)
    assert sum(p.numel() for p in pl.parameters()) == 4 * 64 * depth_text + 4 * 64 * depth_vision
    assert all(p.shape == (4, 64) for p in pl.parameters())


def test_vit_b16_widths_give_46080_prompt_scalars():
    from fvgpt.vl_prompts import VLPromptLearner

    # Real widths (text 512 over CLIP's vocabulary, vision 768), no real weights needed.
    learner = VLPromptLearner(CLASSES, nn.Embedding(49408, 512), vision_width=768)
    counts = {n: p.numel() for n, p in learner.named_parameters()}
    assert counts["ctx"] == 4 * 512 and counts["vision_ctx"] == 4 * 768
    assert len(learner.text_deep) == 8 and len(learner.vision_deep) == 8
    assert sum(counts.values()) == 46080


def test_trainer_trains_exactly_the_prompts(tiny_clip_deep_path, synthetic_root, capsys):
    trainer = build(promptsrc_args(tiny_clip_deep_path, synthetic_root))
    trainable = sorted(n for n, p in trainer.model.named_parameters() if p.requires_grad)
    assert trainable == sorted(
        ["prompt_learner.ctx", "prompt_learner.vision_ctx"]
        + [f"prompt_learner.{m}_deep.{i}" for m in ("text", "vision") for i in range(2)]
    )
    assert "# trainable params: 1,536" in capsys.readouterr().out  # 6 sets of 4 x 64
    assert trainer.get_model_names() == ["VLPromptLearner"]


def test_configuration_errors_are_explained(clip3):
    with pytest.raises(ValueError, match="CTX_INIT 'a photo of a' has 4 words but N_CTX_TEXT is 2"):
        vl_model(clip3, n_text=2)
    with pytest.raises(ValueError, match="PROMPT_DEPTH_TEXT must be >= 1"):
        vl_model(clip3, depth_text=0)
    with pytest.raises(ValueError, match="PROMPT_DEPTH_VISION 4 exceeds the 3 layers"):
        vl_model(clip3, depth_vision=4)
    with pytest.raises(ValueError, match="PROMPT_DEPTH_TEXT 4 exceeds the 3 layers"):
        vl_model(clip3, depth_text=4)
    random_ctx = vl_model(clip3, ctx_init="", n_text=2)
    assert random_ctx.prompt_learner.ctx.shape == (2, 64) and random_ctx.prompt_learner.prompt_prefix == "X X"


# ------------------------------------------------- prompted vs frozen encoders


def test_depth_1_without_vision_prompts_is_coop(clip3):
    from fvgpt.prompt_learner import PromptLearner
    from fvgpt.prompted_clip import PromptedCLIP

    src = vl_model(clip3, depth_text=1, depth_vision=0)
    coop = PromptedCLIP(clip3, PromptLearner(CLASSES, clip3.token_embedding, ctx_init="a photo of a"))
    assert torch.equal(src.prompt_learner.ctx, coop.prompt_learner.ctx)
    x = images()
    with torch.no_grad():
        assert torch.equal(src.encode_text(), coop.encode_text())
        assert torch.equal(src.encode_image(x), coop.encode_image(x))
        assert torch.equal(src(x), coop(x))
    # random contexts too, once they hold the same values
    src, coop.prompt_learner = vl_model(clip3, 1, 0, ctx_init=""), PromptLearner(CLASSES, clip3.token_embedding, n_ctx=4)
    with torch.no_grad():
        coop.prompt_learner.ctx.copy_(src.prompt_learner.ctx)
        assert torch.equal(src.encode_text(), coop.encode_text())


def test_vision_encoder_without_prompts_is_stock_clip(clip3):
    from fvgpt.vision_encoder import VisionEncoder

    x = images(3)
    with torch.no_grad():
        assert torch.equal(VisionEncoder(clip3.visual)(x), clip3.visual(x))
        # vision depth 0 (text prompts only): the image feature is frozen CLIP's, exactly
        model = vl_model(clip3, depth_text=3, depth_vision=0)
        assert torch.equal(model.encode_image(x), F.normalize(clip3.encode_image(x), dim=-1))
        assert torch.equal(model.encode_image_frozen(x), model.encode_image(x))


def test_prompted_encoders_leave_clip_untouched(clip3):
    model = vl_model(clip3)
    before = {k: v.clone() for k, v in clip3.state_dict().items()}
    x = images()
    with torch.no_grad():
        frozen = F.normalize(clip3.encode_image(x), dim=-1)
        prompted = model.encode_image(x)
        assert torch.equal(model.encode_image_frozen(x), frozen)
    assert not torch.allclose(prompted, frozen, atol=1e-4)  # the prompts do act
    loss = model(x).sum() + model.encode_text().sum()
    loss.backward()
    assert all(torch.equal(before[k], v) for k, v in clip3.state_dict().items())
    assert all(p.grad is not None for p in model.prompt_learner.parameters())


def test_vision_prompts_enter_after_the_patches_without_position(clip3):
    model = vl_model(clip3, depth_vision=1)
    seen = {}
    hook = clip3.visual.ln_pre.register_forward_hook(lambda m, inp, out: seen.setdefault("x", inp[0]))
    try:
        with torch.no_grad():
            model.encode_image(images(2))
    finally:
        hook.remove()
    x = seen["x"]
    n_patches = (32 // 8) ** 2
    assert x.shape == (2, 1 + n_patches + 4, 64)  # [CLS][patches][prompts]
    assert torch.equal(x[0, -4:], model.prompt_learner.vision_ctx) and torch.equal(x[1, -4:], x[0, -4:])


def _block0_output(blocks, store):
    return blocks[0].register_forward_hook(lambda m, inp, out: store.setdefault("y", out))


def test_deep_text_prompts_replace_context_positions_before_block_1(clip3):
    """Feeding block 0's own output at positions 1..n as the deep prompt reproduces the shallow run."""
    model = vl_model(clip3, depth_text=2, depth_vision=0)
    pl, enc = model.prompt_learner, model.text_encoder
    store = {}
    hook = _block0_output(clip3.transformer.resblocks, store)
    with torch.no_grad():
        shallow = enc(pl(), pl.tokenized_prompts)  # no deep prompts
    hook.remove()
    y = store["y"]  # (77, n_cls, D); positions 1..n see only SOS and the context (causal mask)
    assert torch.allclose(y[1:5, 0], y[1:5, 2], atol=1e-6)
    with torch.no_grad():
        pl.text_deep[0].copy_(y[1:5, 0])
        assert torch.allclose(model.encode_text(), F.normalize(shallow, dim=-1), atol=1e-6)
        pl.text_deep[0].add_(torch.randn(4, 64))  # (a constant shift would vanish in LayerNorm)
        assert not torch.allclose(model.encode_text(), F.normalize(shallow, dim=-1), atol=1e-3)


def test_deep_vision_prompts_replace_the_last_tokens_before_block_1(clip3):
    model = vl_model(clip3, depth_text=1, depth_vision=2)
    pl, enc = model.prompt_learner, model.image_encoder
    x = images(1)
    store = {}
    hook = _block0_output(clip3.visual.transformer.resblocks, store)
    with torch.no_grad():
        shallow = enc(x, pl.vision_ctx)  # input prompts only
    hook.remove()
    with torch.no_grad():
        pl.vision_deep[0].copy_(store["y"][-4:, 0])
        assert torch.allclose(model.encode_image(x), F.normalize(shallow, dim=-1), atol=1e-6)
        pl.vision_deep[0].add_(torch.randn(4, 64))
        assert not torch.allclose(model.encode_image(x), F.normalize(shallow, dim=-1), atol=1e-3)


def test_non_vit_backbones_cannot_take_vision_prompts():
    from fvgpt.vision_encoder import VisionEncoder

    with pytest.raises(TypeError, match="ViT image encoder"):
        VisionEncoder(nn.Linear(2, 2))


# --------------------------------------------------------- teachers and losses


def promptsrc_args(clip_path, root):
    flags = trainer_flags("PromptSRC", "configs/trainers/PromptSRC/tiny_cpu.yaml", root)
    return flags + ["MODEL.BACKBONE.NAME", str(clip_path), "DATASET.NUM_SHOTS", "4"]


def test_teacher_text_is_the_60_template_mean_of_raw_features(clip3):
    from fvgpt.templates import IMAGENET_TEMPLATES_60
    from fvgpt.text_encoder import encode_template_ensemble, encode_texts

    assert len(IMAGENET_TEMPLATES_60) == len(set(IMAGENET_TEMPLATES_60)) == 60
    assert IMAGENET_TEMPLATES_60[0] == "a photo of a {}." and IMAGENET_TEMPLATES_60[-1] == "itap of the {}."
    got = encode_template_ensemble(clip3, IMAGENET_TEMPLATES_60, CLASSES)
    names = [c.replace("_", " ") for c in CLASSES]
    raw = torch.stack([encode_texts(clip3, [t.format(n) for n in names], normalize=False) for t in IMAGENET_TEMPLATES_60])
    assert torch.allclose(got, F.normalize(raw.mean(0), dim=-1), atol=1e-6)
    mean_of_normalised = F.normalize(F.normalize(raw, dim=-1).mean(0), dim=-1)
    assert not torch.allclose(got, mean_of_normalised, atol=1e-6)


def test_self_consistency_losses_match_hand_computation():
    from fvgpt.regularizers import self_consistency_losses

    t, t0 = torch.tensor([[0.6, 0.8], [1.0, 0.0]]), torch.tensor([[0.8, 0.6], [0.0, 1.0]])
    f, f0 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    z, z0 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    out = self_consistency_losses(t, t0, f, f0, z, z0)
    assert out.text.item() == pytest.approx((0.2 + 0.2 + 1.0 + 1.0) / 4)
    assert out.image.item() == pytest.approx(1.0)

    def softmax(v):
        e = [math.exp(a) for a in v]
        return [a / sum(e) for a in e]

    p, p0 = softmax([1.0, 0.0]), softmax([0.0, 2.0])
    assert out.logits.item() == pytest.approx(sum(a * math.log(a / b) for a, b in zip(p0, p)) / 2, rel=1e-6)


def test_trainer_loss_combines_the_weighted_terms(tiny_clip_deep_path, synthetic_root):
    trainer = build(promptsrc_args(tiny_clip_deep_path, synthetic_root))
    image, label = trainer.parse_batch_train(next(iter(trainer.train_loader_x)))
    loss, logits, parts = trainer.compute_loss(image, label)
    expected = parts["loss_ce"] + 25 * parts["loss_text"] + 10 * parts["loss_image"] + parts["loss_kl"]
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():
        zs = F.normalize(trainer.clip_model.encode_image(image), dim=-1)
        teacher = trainer.teacher_text_features()
        image_feat = trainer.model.encode_image(image)
    assert parts["loss_image"] == pytest.approx(F.l1_loss(image_feat, zs).item(), rel=1e-5)
    assert teacher.shape == (10, 32) and trainer.teacher_text_features() is teacher  # cached
    trainer.model.set_classnames(CLASSES)
    assert trainer.teacher_text_features().shape == (3, 32)  # recomputed for the new class names


# ------------------------------------------------------------------------- GPA


def test_gpa_weights_match_the_reference_values():
    from fvgpt.gpa import gpa_weights

    w = gpa_weights(20, 15, 1)
    assert len(w) == 20 and sum(w) == pytest.approx(1.0)
    reference = {13: 0.054, 14: 0.242, 15: 0.399, 16: 0.242, 17: 0.054}
    for epoch, value in reference.items():
        assert w[epoch - 1] == pytest.approx(value, abs=5e-4)
    assert all(w[e - 1] < 0.005 for e in range(1, 21) if e not in reference)
    with pytest.raises(ValueError, match="GPA_STD"):
        gpa_weights(20, 15, 0)


def test_aggregator_is_the_weighted_sum_of_snapshots():
    from fvgpt.gpa import PromptAggregator

    a, b = nn.Parameter(torch.zeros(2, 3)), nn.Parameter(torch.zeros(4, dtype=torch.float16))
    weights = [0.2, 0.3, 0.5]
    agg = PromptAggregator({"a": a, "b": b}, weights)
    snapshots = []
    for epoch in (1, 2, 3):
        with torch.no_grad():
            a.copy_(torch.randn(2, 3))
            b.copy_(torch.randn(4))
        snapshots.append((a.detach().clone(), b.detach().float().clone()))
        agg.accumulate(epoch)
    agg.apply()
    assert torch.allclose(a, sum(w * s[0] for w, s in zip(weights, snapshots)), atol=1e-6)
    assert b.dtype == torch.float16
    assert torch.allclose(b.float(), sum(w * s[1] for w, s in zip(weights, snapshots)).half().float())
    restored = PromptAggregator({"a": a, "b": b}, weights)
    restored.load_state_dict(agg.state_dict())
    assert restored.epochs == [1, 2, 3] and torch.equal(restored.total["a"], agg.total["a"])


def test_training_ends_with_the_gpa_of_the_epoch_snapshots(tiny_clip_deep_path, synthetic_root, tmp_path):
    from fvgpt.gpa import gpa_weights

    base = ["DATASET.SUBSAMPLE_CLASSES", "base"]  # 5 classes: half the text-encoder work
    trainer = build(promptsrc_args(tiny_clip_deep_path, synthetic_root) + base + ["OUTPUT_DIR", str(tmp_path)])
    pl = trainer.model.prompt_learner
    clip_before = {k: v.clone() for k, v in trainer.clip_model.state_dict().items()}
    snapshots = []
    accumulate = trainer.gpa.accumulate
    trainer.gpa.accumulate = lambda e: snapshots.append({n: p.detach().clone() for n, p in pl.named_parameters()}) or accumulate(e)
    trainer.train()
    weights = gpa_weights(3, 2, 1)
    assert len(snapshots) == 3 and trainer.gpa.epochs == [1, 2, 3]
    for name, p in pl.named_parameters():
        expected = sum(w * s[name] for w, s in zip(weights, snapshots))
        assert torch.allclose(p, expected, atol=1e-7), name
        assert not torch.equal(p, snapshots[-1][name])  # not simply the last epoch
    assert all(torch.equal(clip_before[k], v) for k, v in trainer.clip_model.state_dict().items())
    saved = torch.load(tmp_path / "VLPromptLearner" / "model.pth.tar-3", weights_only=True)
    assert torch.equal(saved["state_dict"]["vision_ctx"], pl.vision_ctx) and saved["gpa"]["epochs"] == [1, 2, 3]


def test_resume_keeps_the_gpa_sum(tiny_clip_deep_path, synthetic_root, tmp_path):
    args = promptsrc_args(tiny_clip_deep_path, synthetic_root) + [
        "DATASET.SUBSAMPLE_CLASSES", "base", "OUTPUT_DIR", str(tmp_path), "TRAIN.CHECKPOINT_FREQ", "1"
    ]
    first = build(args)
    first.max_epoch = 2  # stop after two of three epochs, as a crash would
    first.after_train = lambda: None
    first.train()
    assert (tmp_path / "VLPromptLearner" / "model.pth.tar-2").is_file() and first.gpa.epochs == [1, 2]
    resumed = build(args)
    resumed.train()
    assert resumed.gpa.epochs == [1, 2, 3]


# ------------------------------------------------------------------ checkpoints


def test_reference_checkpoint_layout_is_translated(tiny_clip_deep_path, synthetic_root, tmp_path):
    trainer = build(promptsrc_args(tiny_clip_deep_path, synthetic_root))
    pl = trainer.model.prompt_learner
    ours = {n: torch.randn_like(p) for n, p in pl.named_parameters()}
    state = {
        "prompt_learner.ctx": ours["ctx"],
        "prompt_learner.token_prefix": pl.token_prefix,
        "image_encoder.VPT": ours["vision_ctx"],
        "logit_scale": torch.tensor(4.6),
        "image_encoder.conv1.weight": torch.zeros(1),
        "prompt_learner.ZS_image_encoder.conv1.weight": torch.zeros(1),
    }
    for i in (1, 2):
        state[f"image_encoder.transformer.resblocks.{i}.VPT_shallow"] = ours[f"vision_deep.{i - 1}"]
        state[f"text_encoder.transformer.resblocks.{i}.VPT_shallow"] = ours[f"text_deep.{i - 1}"]
    (tmp_path / "VLPromptLearner").mkdir()
    torch.save({"state_dict": state, "epoch": 20}, tmp_path / "VLPromptLearner" / "model.pth.tar-20")
    trainer.load_model(str(tmp_path), epoch=20)
    assert all(torch.equal(p, ours[n]) for n, p in pl.named_parameters())


def test_checkpoint_of_another_depth_is_refused(promptsrc_stage1, tiny_clip_deep_path, synthetic_root):
    _, _, run = promptsrc_stage1
    trainer = build(promptsrc_args(tiny_clip_deep_path, synthetic_root) + ["TRAINER.PROMPTSRC.PROMPT_DEPTH_TEXT", "2"])
    with pytest.raises(RuntimeError, match=r"unexpected \['text_deep.1'\].*prompt depth"):
        trainer.load_model(str(run.output_dir), epoch=3)


def test_train_py_run_and_checkpoint(promptsrc_stage1):
    _, _, run = promptsrc_stage1
    assert "Finish training" in run.stdout and "GPA: prompts replaced" in run.stdout
    assert all(k in run.stdout for k in ("loss_text", "loss_image", "loss_kl"))
    ckpt = torch.load(run.output_dir / "VLPromptLearner" / "model.pth.tar-3", weights_only=True)
    assert ckpt["trainer"] == "PromptSRC"
    assert set(ckpt["state_dict"]) == {
        "ctx", "token_prefix", "token_suffix", "vision_ctx", "text_deep.0", "text_deep.1", "vision_deep.0", "vision_deep.1"
    }


def test_amp_step_updates_every_prompt(tiny_clip_deep_path, synthetic_root):
    """amp (CPU autocast standing in for CUDA's): one step moves every prompt; the teacher stays fp32."""
    from fvgpt.precision import grad_scaler

    trainer = build(promptsrc_args(tiny_clip_deep_path, synthetic_root) + ["DATASET.SUBSAMPLE_CLASSES", "base"])
    trainer.prec, trainer.scaler = "amp", grad_scaler("amp", trainer.device)
    pl = trainer.model.prompt_learner
    before = {n: p.clone() for n, p in pl.named_parameters()}
    trainer.set_model_mode("train")
    trainer.batch_idx, trainer.num_batches = 0, 2
    out = trainer.forward_backward(next(iter(trainer.train_loader_x)))
    assert all(math.isfinite(out[k]) for k in ("loss", "loss_text", "loss_image", "loss_kl"))
    assert all(not torch.equal(p, before[n]) for n, p in pl.named_parameters())
    assert trainer.teacher_text_features().dtype == torch.float32
