"""``build_optimizer``: the optimizer named by OPTIM.NAME over a model or parameter groups."""
from __future__ import annotations

import warnings
from typing import Any, Iterable

import torch
import torch.nn as nn

__all__ = ["AVAI_OPTIMS", "build_optimizer"]

AVAI_OPTIMS = ["adam", "amsgrad", "sgd", "rmsprop", "radam", "adamw"]


def _staged_param_groups(model: nn.Module, optim_cfg: Any) -> list[dict[str, Any]]:
    """Children named in NEW_LAYERS train at LR; all others at LR * BASE_LR_MULT."""
    if not isinstance(model, nn.Module):
        raise TypeError("With OPTIM.STAGED_LR, build_optimizer() needs an nn.Module")
    if isinstance(model, nn.DataParallel):
        model = model.module
    new_layers = optim_cfg.NEW_LAYERS
    if isinstance(new_layers, str):
        new_layers = [new_layers]
    if not new_layers:
        warnings.warn("OPTIM.STAGED_LR is set but OPTIM.NEW_LAYERS is empty")
    base_params: list[nn.Parameter] = []
    new_params: list[nn.Parameter] = []
    for name, module in model.named_children():
        (new_params if name in new_layers else base_params).extend(module.parameters())
    return [{"params": base_params, "lr": optim_cfg.LR * optim_cfg.BASE_LR_MULT}, {"params": new_params}]


def build_optimizer(
    model: nn.Module | Iterable[Any], optim_cfg: Any, param_groups: Iterable[Any] | None = None
) -> torch.optim.Optimizer:
    """Build the optimizer from the OPTIM config node.

    ``param_groups``, when given, is optimized instead of ``model`` (and
    STAGED_LR is ignored); ``model`` may also be an iterable of parameters.
    """
    name = optim_cfg.NAME
    if name not in AVAI_OPTIMS:
        raise ValueError(f"OPTIM.NAME must be one of {AVAI_OPTIMS}, but got {name!r}")
    if param_groups is not None and optim_cfg.STAGED_LR:
        warnings.warn("OPTIM.STAGED_LR is ignored because param_groups were given")
    if param_groups is None:
        if optim_cfg.STAGED_LR:
            param_groups = _staged_param_groups(model, optim_cfg)  # type: ignore[arg-type]
        else:
            param_groups = model.parameters() if isinstance(model, nn.Module) else model

    lr, wd = optim_cfg.LR, optim_cfg.WEIGHT_DECAY
    betas = (optim_cfg.ADAM_BETA1, optim_cfg.ADAM_BETA2)
    if name in ("adam", "amsgrad"):
        return torch.optim.Adam(param_groups, lr=lr, weight_decay=wd, betas=betas, amsgrad=name == "amsgrad")
    if name == "sgd":
        return torch.optim.SGD(
            param_groups,
            lr=lr,
            momentum=optim_cfg.MOMENTUM,
            weight_decay=wd,
            dampening=optim_cfg.SGD_DAMPNING,
            nesterov=optim_cfg.SGD_NESTEROV,
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            param_groups, lr=lr, momentum=optim_cfg.MOMENTUM, weight_decay=wd, alpha=optim_cfg.RMSPROP_ALPHA
        )
    if name == "radam":
        # torch's RAdam; upstream ships its own copy with the same update rule.
        return torch.optim.RAdam(param_groups, lr=lr, weight_decay=wd, betas=betas)
    return torch.optim.AdamW(param_groups, lr=lr, weight_decay=wd, betas=betas)
