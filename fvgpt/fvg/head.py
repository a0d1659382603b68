"""FVGHead: the only trainable part of the FVG stage (two adapters and two gates).

It consumes what any frozen baseline can provide, normalised features and
logits, and knows nothing about how they were computed; a trainer binds it to
a backbone (:mod:`fvgpt.fvg.stage`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from fvgpt.fvg.adapters import FeatureAdapter
from fvgpt.fvg.gates import ReliabilityGate, brg_inputs, frg_inputs
from fvgpt.fvg.losses import calibrate, foreground_distillation, prior_calibration_loss

__all__ = ["FVGSettings", "FVGHead", "StepOutputs"]


@dataclass(frozen=True)
class FVGSettings:
    """The head's hyper-parameters (from TRAINER.FVG; see fvgpt/config.py)."""

    adapter_form: str = "clip_adapter"
    adapter_reduction: int = 4
    adapter_alpha: float = 0.2
    gate_hidden: int = 32
    dist_form: str = "weighted"
    temperature: float = 1.0
    pc_weight: str = "backbone"
    lambda_base: float = 10.0
    lambda_new: float = 1.0

    @classmethod
    def from_cfg(cls, fvg_cfg) -> "FVGSettings":
        return cls(
            adapter_form=fvg_cfg.ADAPTER_FORM,
            adapter_reduction=fvg_cfg.ADAPTER_REDUCTION,
            adapter_alpha=fvg_cfg.ADAPTER_ALPHA,
            gate_hidden=fvg_cfg.GATE_HIDDEN,
            dist_form=fvg_cfg.DIST_FORM,
            temperature=fvg_cfg.TEMPERATURE,
            pc_weight=fvg_cfg.PC_WEIGHT,
            lambda_base=fvg_cfg.LAMBDA_BASE,
            lambda_new=fvg_cfg.LAMBDA_NEW,
        )


@dataclass
class StepOutputs:
    """The total loss, its terms (tensors, for autograd checks) and the gate weights of one batch."""

    loss: torch.Tensor
    z_fdc: torch.Tensor
    terms: Dict[str, torch.Tensor]
    r: torch.Tensor
    b: torch.Tensor

    def log_values(self) -> Dict[str, float]:
        """Each loss part and the batch means of r and b, for the progress line and TensorBoard."""
        values = {name: term.item() for name, term in self.terms.items()}
        values.update(r=self.r.mean().item(), b=self.b.mean().item())
        return values


class FVGHead(nn.Module):
    def __init__(self, dim: int, settings: FVGSettings = FVGSettings()) -> None:
        super().__init__()
        s = settings
        self.settings = s
        self.image_adapter = FeatureAdapter(dim, s.adapter_reduction, s.adapter_alpha, s.adapter_form)
        self.text_adapter = FeatureAdapter(dim, s.adapter_reduction, s.adapter_alpha, s.adapter_form)
        self.frg = ReliabilityGate(3, s.gate_hidden)
        self.brg = ReliabilityGate(3, s.gate_hidden)

    # -------------------------------------------------------------- branches
    def base_logits(self, f: torch.Tensor, g: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """z_FDC = s a_v(f) a_t(g)^T."""
        return scale.float() * self.image_adapter(f) @ self.text_adapter(g).t()

    def trust(self, z_full: torch.Tensor, z_fg: torch.Tensor, area: torch.Tensor) -> torch.Tensor:
        """r: how far the foreground view is to be trusted over the full image."""
        inputs = frg_inputs(F.softmax(z_full.float(), -1), F.softmax(z_fg.float(), -1), area.float())
        return self.frg(inputs.detach())

    def new_logits(self, z_full: torch.Tensor, z_clip: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(z_PC, b): backbone logits calibrated towards the CLIP prior."""
        z_full, z_clip = z_full.detach().float(), z_clip.detach().float()
        b = self.brg(brg_inputs(F.softmax(z_full, -1), F.softmax(z_clip, -1)).detach())
        return calibrate(z_full, z_clip, b, self.settings.pc_weight), b

    # ------------------------------------------------------------------ loss
    def step(
        self,
        f: torch.Tensor,
        g: torch.Tensor,
        scale: torch.Tensor,
        z_full: torch.Tensor,
        z_fg: torch.Tensor,
        z_clip: torch.Tensor,
        area: torch.Tensor,
        label: torch.Tensor,
    ) -> StepOutputs:
        """L = CE(z_FDC, y) + lambda_base L_dist + lambda_new L_new, with each part for the log."""
        s = self.settings
        z_fdc = self.base_logits(f, g, scale)
        r = self.trust(z_full, z_fg, area)
        loss_ce = F.cross_entropy(z_fdc, label)
        loss_dist = foreground_distillation(z_fdc, z_full, z_fg, r, s.temperature, s.dist_form)
        z_pc, b = self.new_logits(z_full, z_clip)
        loss_new = prior_calibration_loss(z_pc, z_clip, label, s.temperature)
        loss = loss_ce + s.lambda_base * loss_dist + s.lambda_new * loss_new
        terms = {"loss_ce": loss_ce, "loss_dist": loss_dist, "loss_new": loss_new}
        return StepOutputs(loss=loss, z_fdc=z_fdc, terms=terms, r=r, b=b)
