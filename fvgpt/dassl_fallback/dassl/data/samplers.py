"""Samplers selectable by name in DATALOADER.*.SAMPLER."""
from __future__ import annotations

from typing import Any, Sequence

from torch.utils.data.sampler import RandomSampler, Sampler, SequentialSampler

__all__ = ["build_sampler", "RandomSampler", "SequentialSampler", "AVAI_SAMPLERS"]

AVAI_SAMPLERS = ("RandomSampler", "SequentialSampler")
# Upstream's domain/class-balanced samplers serve DA/DG trainers the fallback does not ship.
_UPSTREAM_ONLY = ("RandomDomainSampler", "SeqDomainSampler", "RandomClassSampler")


def build_sampler(
    sampler_type: str,
    cfg: Any = None,
    data_source: Sequence[Any] | None = None,
    batch_size: int = 32,
    n_domain: int = 0,
    n_ins: int = 16,
) -> Sampler[int]:
    """A torch sampler over ``data_source`` (batch_size/n_domain/n_ins serve upstream-only samplers)."""
    if data_source is None:
        raise ValueError("build_sampler() needs a data_source")
    if sampler_type == "RandomSampler":
        return RandomSampler(data_source)
    if sampler_type == "SequentialSampler":
        return SequentialSampler(data_source)
    if sampler_type in _UPSTREAM_ONLY:
        raise ValueError(
            f"Sampler {sampler_type} is not provided by FVG-PT's Dassl fallback "
            f"(available: {list(AVAI_SAMPLERS)}); install upstream Dassl.pytorch to use it"
        )
    raise ValueError(f"Unknown sampler type: {sampler_type} (available: {list(AVAI_SAMPLERS)})")
