"""The backbone-agnostic FVG machinery against hand computations and autograd."""
import math

import pytest
import torch
import torch.nn.functional as F

from fvgpt.fvg.adapters import FeatureAdapter
from fvgpt.fvg.foreground import foreground_area, foreground_view
from fvgpt.fvg.gates import ReliabilityGate, brg_inputs, frg_inputs, normalized_entropy
from fvgpt.fvg.head import FVGHead, FVGSettings
from fvgpt.fvg.losses import calibrate, foreground_distillation, kl_to_student, prior_calibration_loss


def softmax(z):
    e = [math.exp(v) for v in z]
    return [v / sum(e) for v in e]


def kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q) if a > 0)


def test_kl_matches_hand_computation_and_temperature_scaling():
    teacher, student = torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([[0.2, 0.1, 0.3]])
    expected = kl(softmax([1.0, 0.0, -1.0]), softmax([0.2, 0.1, 0.3]))
    assert kl_to_student(teacher, student).item() == pytest.approx(expected, rel=1e-5)
    t = 2.0
    expected_t = kl(softmax([1.0 / t, 0.0, -1.0 / t]), softmax([0.2 / t, 0.1 / t, 0.3 / t])) * t * t
    assert kl_to_student(teacher, student, temperature=t).item() == pytest.approx(expected_t, rel=1e-5)


def test_weighted_distillation_matches_hand_computation():
    z_fdc = torch.tensor([[0.0, 0.0], [0.5, -0.5]])
    z_full = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_fg = torch.tensor([[0.0, 2.0], [3.0, 0.0]])
    r = torch.tensor([0.25, 0.9])
    per = [
        (1 - rr) * kl(softmax(zf), softmax(zs)) + rr * kl(softmax(zg), softmax(zs))
        for zs, zf, zg, rr in zip(z_fdc.tolist(), z_full.tolist(), z_fg.tolist(), r.tolist())
    ]
    got = foreground_distillation(z_fdc, z_full, z_fg, r, form="weighted")
    assert got.item() == pytest.approx(sum(per) / 2, rel=1e-5)


def test_mixture_distillation_matches_hand_computation():
    z_fdc, z_full, z_fg = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    r, t = torch.tensor([0.25]), 1.5
    mixed = [0.75 * 1.0 + 0.25 * 0.0, 0.75 * 0.0 + 0.25 * 2.0]
    expected = kl(softmax([m / t for m in mixed]), softmax([0.0, 0.0])) * t * t
    got = foreground_distillation(z_fdc, z_full, z_fg, r, temperature=t, form="mixture")
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_prior_calibration_loss_matches_hand_computation():
    z_full, z_clip, b = torch.tensor([[2.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([0.3])
    z_pc = calibrate(z_full, z_clip, b, "backbone")
    expected_pc = [0.3 * 2.0, 0.7 * 1.0, 0.0]
    assert z_pc[0].tolist() == pytest.approx(expected_pc)
    assert calibrate(z_full, z_clip, b, "clip")[0].tolist() == pytest.approx([0.7 * 2.0, 0.3 * 1.0, 0.0])
    label = torch.tensor([1])
    ce = -math.log(softmax(expected_pc)[1])
    expected = ce + kl(softmax([0.0, 1.0, 0.0]), softmax(expected_pc))
    assert prior_calibration_loss(z_pc, z_clip, label).item() == pytest.approx(expected, rel=1e-5)


def test_normalized_entropy_bounds():
    uniform, onehot = torch.full((1, 7), 1 / 7), F.one_hot(torch.tensor([2]), 7).float()
    assert normalized_entropy(uniform).item() == pytest.approx(1.0)
    assert normalized_entropy(onehot).item() == pytest.approx(0.0)
    assert normalized_entropy(torch.ones(1, 1)).item() == 0.0


def test_gate_inputs_are_the_documented_statistics():
    p_full, p_fg = torch.tensor([[0.5, 0.5]]), torch.tensor([[1.0, 0.0]])
    x = frg_inputs(p_full, p_fg, torch.tensor([0.3]))
    assert x[0].tolist() == pytest.approx([1.0 - 0.0, 0.5 / math.sqrt(0.5), 0.3])
    y = brg_inputs(p_full, p_fg)
    assert y[0].tolist() == pytest.approx([1.0, 0.0, 0.5 / math.sqrt(0.5)])


def test_gates_stay_strictly_inside_the_unit_interval():
    gate = ReliabilityGate(3, 8)
    with torch.no_grad():
        gate.mlp[2].bias.fill_(1e4)  # saturate the sigmoid
        hi = gate(torch.randn(5, 3))
        gate.mlp[2].bias.fill_(-1e4)
        lo = gate(torch.randn(5, 3))
    assert (hi < 1).all() and (lo > 0).all()


@pytest.mark.parametrize("form", ["clip_adapter", "residual"])
def test_adapters_are_identity_on_unit_vectors_at_init(form):
    adapter = FeatureAdapter(32, reduction=4, alpha=0.2, form=form)
    v = F.normalize(torch.randn(6, 32), dim=-1)
    assert torch.allclose(adapter(v), v, atol=1e-6)
    assert sum(p.numel() for p in adapter.parameters()) == 32 * 8 + 8 + 8 * 32 + 32


def test_foreground_view_fills():
    img = torch.randn(2, 3, 4, 4)
    mask = torch.zeros(2, 1, 4, 4)
    mask[:, :, 1:3, 1:3] = 1
    view = foreground_view(img, mask, "mean")
    assert torch.equal(view[:, :, 1:3, 1:3], img[:, :, 1:3, 1:3]) and view[:, :, 0, 0].abs().sum() == 0
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    black = foreground_view(img, mask, "black", mean, std)
    assert black[0, :, 0, 0].tolist() == pytest.approx([-m / s for m, s in zip(mean, std)])
    assert foreground_area(mask).tolist() == [0.25, 0.25]
    with pytest.raises(ValueError, match="BG_FILL"):
        foreground_view(img, mask, "grey")


def _toy(seed=0, n_cls=5, dim=16, batch=4):
    g = torch.Generator().manual_seed(seed)
    f = F.normalize(torch.randn(batch, dim, generator=g), dim=-1)
    f_fg = F.normalize(torch.randn(batch, dim, generator=g), dim=-1)
    text = F.normalize(torch.randn(n_cls, dim, generator=g), dim=-1)
    scale = torch.tensor(20.0)
    z_full, z_fg = scale * f @ text.t(), scale * f_fg @ text.t()
    z_clip = scale * F.normalize(torch.randn(batch, dim, generator=g), dim=-1) @ text.t()
    label = torch.arange(batch) % n_cls
    return f, text, scale, z_full, z_fg, z_clip, label


def test_base_branch_equals_backbone_logits_at_step_zero():
    torch.manual_seed(0)
    f, g, scale, z_full, *_ = _toy()
    head = FVGHead(16)
    assert torch.allclose(head.base_logits(f, g, scale), z_full, atol=1e-5)


def test_gradients_reach_each_gate_only_through_its_loss():
    torch.manual_seed(0)
    f, g, scale, z_full, z_fg, z_clip, label = _toy()
    head = FVGHead(16)
    out = head.step(f, g, scale, z_full, z_fg, z_clip, torch.full((4,), 0.4), label)
    assert ((out.r > 0) & (out.r < 1)).all() and ((out.b > 0) & (out.b < 1)).all()
    frg, brg = list(head.frg.parameters()), list(head.brg.parameters())
    adapters = list(head.image_adapter.parameters()) + list(head.text_adapter.parameters())

    def grads(term, params):
        return torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)

    def reached(gs):
        return any(gr is not None and gr.abs().sum() > 0 for gr in gs)

    t = out.terms
    assert reached(grads(t["loss_dist"], frg)) and not reached(grads(t["loss_dist"], brg))
    assert reached(grads(t["loss_new"], brg)) and not reached(grads(t["loss_new"], frg))
    assert not reached(grads(t["loss_ce"], frg)) and not reached(grads(t["loss_ce"], brg))
    assert not reached(grads(t["loss_new"], adapters)) and reached(grads(t["loss_ce"], adapters))
    total = out.loss
    s = head.settings
    assert total.item() == pytest.approx((t["loss_ce"] + s.lambda_base * t["loss_dist"] + s.lambda_new * t["loss_new"]).item())


@pytest.mark.parametrize("area", [0.0, 1.0, 1.0 / 1024])
def test_degenerate_masks_give_finite_losses(area):
    torch.manual_seed(0)
    f, g, scale, z_full, _, z_clip, label = _toy()
    # an all-zero mask makes the view a constant image: its logits are identical for every sample
    z_fg = z_full if area == 1.0 else torch.zeros_like(z_full) + (z_full[:1] if area else 0)
    out = FVGHead(16).step(f, g, scale, z_full, z_fg, z_clip, torch.full((4,), area), label)
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_settings_validate_choices():
    with pytest.raises(ValueError, match="ADAPTER_FORM"):
        FVGHead(16, FVGSettings(adapter_form="mlp"))
    head = FVGHead(16, FVGSettings(dist_form="avg"))
    with pytest.raises(ValueError, match="DIST_FORM"):
        head.step(*_toy()[:5], _toy()[5], torch.ones(4), _toy()[6])
