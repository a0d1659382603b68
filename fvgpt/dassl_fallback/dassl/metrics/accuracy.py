"""Top-k accuracy of a batch, in percent (the ``acc`` shown in CoOp-family progress lines)."""
from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["compute_accuracy"]


def compute_accuracy(
    output: torch.Tensor | Sequence[torch.Tensor], target: torch.Tensor, topk: Sequence[int] = (1,)
) -> list[torch.Tensor]:
    """One 1-element tensor per k: the percentage of rows whose target is in the top k logits.

    ``output`` may be a tuple/list whose first element holds the logits.
    """
    if isinstance(output, (tuple, list)):
        output = output[0]
    maxk = max(topk)
    batch_size = target.size(0)
    _, pred = output.topk(maxk, 1, True, True)
    correct = pred.t().eq(target.view(1, -1).expand(maxk, -1))
    return [correct[:k].reshape(-1).float().sum(0, keepdim=True).mul_(100.0 / batch_size) for k in topk]
