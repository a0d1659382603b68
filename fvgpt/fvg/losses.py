"""The FVG losses: foreground distillation (base branch) and prior calibration (new branch).

Teachers are always detached: the frozen backbone's logits on the full image
(z_full) and on the foreground view (z_fg) teach the adapted logits (z_FDC),
weighted by the FRG's trust r; the CLIP prior (z_clip) anchors the calibrated
logits z_PC. Gradients therefore reach the FRG only through L_dist and the BRG
only through L_new.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["DIST_FORMS", "PC_WEIGHTS", "kl_to_student", "foreground_distillation", "calibrate", "prior_calibration_loss"]

DIST_FORMS = ("weighted", "mixture")
PC_WEIGHTS = ("backbone", "clip")


def kl_to_student(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Per-sample KL(p_teacher^T || p_student^T) * T^2 (Hinton scaling keeps gradients T-independent)."""
    t = temperature
    log_student = F.log_softmax(student_logits.float() / t, dim=-1)
    teacher = F.softmax(teacher_logits.float() / t, dim=-1)
    return F.kl_div(log_student, teacher, reduction="none").sum(dim=-1) * (t * t)


def foreground_distillation(
    z_fdc: torch.Tensor,
    z_full: torch.Tensor,
    z_fg: torch.Tensor,
    r: torch.Tensor,
    temperature: float = 1.0,
    form: str = "weighted",
) -> torch.Tensor:
    """L_dist, averaged over the batch.

    ``weighted``: (1 - r) KL(p_full || p_FDC) + r KL(p_fg || p_FDC).
    ``mixture``: KL(softmax(((1 - r) z_full + r z_fg) / T) || p_FDC).
    """
    z_full, z_fg = z_full.detach().float(), z_fg.detach().float()
    if form == "weighted":
        per_sample = (1 - r) * kl_to_student(z_full, z_fdc, temperature) + r * kl_to_student(z_fg, z_fdc, temperature)
    elif form == "mixture":
        r_col = r.unsqueeze(-1)
        per_sample = kl_to_student((1 - r_col) * z_full + r_col * z_fg, z_fdc, temperature)
    else:
        raise ValueError(f"TRAINER.FVG.DIST_FORM must be one of {DIST_FORMS}, got '{form}'")
    return per_sample.mean()


def calibrate(z_full: torch.Tensor, z_clip: torch.Tensor, b: torch.Tensor, weigh: str = "backbone") -> torch.Tensor:
    """z_PC: ``backbone``: b z_full + (1 - b) z_clip; ``clip``: (1 - b) z_full + b z_clip."""
    if weigh not in PC_WEIGHTS:
        raise ValueError(f"TRAINER.FVG.PC_WEIGHT must be one of {PC_WEIGHTS}, got '{weigh}'")
    w = b.unsqueeze(-1) if weigh == "backbone" else 1 - b.unsqueeze(-1)
    return w * z_full.detach().float() + (1 - w) * z_clip.detach().float()


def prior_calibration_loss(
    z_pc: torch.Tensor, z_clip: torch.Tensor, label: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """L_new = CE(z_PC, y) + KL(p_clip^T || p_PC^T), batch means."""
    return F.cross_entropy(z_pc, label) + kl_to_student(z_clip.detach(), z_pc, temperature).mean()
