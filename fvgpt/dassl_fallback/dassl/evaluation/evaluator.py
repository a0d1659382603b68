"""The Classification evaluator: accuracy, error and macro-F1 printed in a parser-stable format.

Result parsers (CoOp's parse_test_res.py and ours) grep ``* accuracy: X%``
after ``=> result``, so these lines must not change.
"""
from __future__ import annotations

import os
from collections import OrderedDict, defaultdict
from typing import Any

import numpy as np
import torch

from .build import EVALUATOR_REGISTRY

__all__ = ["EvaluatorBase", "Classification"]


class EvaluatorBase:
    """Accumulate predictions with ``process`` and summarise them with ``evaluate``."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg

    def reset(self) -> None:
        raise NotImplementedError

    def process(self, mo: torch.Tensor, gt: torch.Tensor) -> None:
        raise NotImplementedError

    def evaluate(self) -> "OrderedDict[str, float]":
        raise NotImplementedError


@EVALUATOR_REGISTRY.register()
class Classification(EvaluatorBase):
    """Top-1 accuracy, error rate and macro-F1 (over the classes present), in percent."""

    def __init__(self, cfg: Any, lab2cname: dict[int, str] | None = None, **kwargs: Any) -> None:
        super().__init__(cfg)
        self._lab2cname = lab2cname
        self._per_class = bool(cfg.TEST.PER_CLASS_RESULT)
        if self._per_class and lab2cname is None:
            raise ValueError("TEST.PER_CLASS_RESULT needs lab2cname")
        self.reset()

    def reset(self) -> None:
        self._correct = 0
        self._total = 0
        self._y_true: list[int] = []
        self._y_pred: list[int] = []
        self._per_class_res: defaultdict[int, list[int]] = defaultdict(list)

    def process(self, mo: torch.Tensor, gt: torch.Tensor) -> None:
        """``mo``: logits [batch, num_classes]; ``gt``: labels [batch]."""
        pred = mo.max(1)[1]
        matches = pred.eq(gt).int()
        self._correct += int(matches.sum().item())
        self._total += gt.shape[0]
        self._y_true.extend(gt.detach().cpu().tolist())
        self._y_pred.extend(pred.detach().cpu().tolist())
        if self._per_class:
            for label, match in zip(gt.tolist(), matches.tolist()):
                self._per_class_res[label].append(match)

    def evaluate(self) -> "OrderedDict[str, float]":
        """Print and return accuracy (first: ``trainer.test()`` returns it), error_rate, macro_f1."""
        from sklearn.metrics import f1_score  # imported lazily: sklearn is slow to import

        if self._total == 0:
            raise RuntimeError("Classification.evaluate(): no predictions were processed")
        acc = 100.0 * self._correct / self._total
        err = 100.0 - acc
        macro_f1 = 100.0 * f1_score(self._y_true, self._y_pred, average="macro", labels=np.unique(self._y_true))
        results: OrderedDict[str, float] = OrderedDict(
            accuracy=acc, error_rate=err, macro_f1=float(macro_f1)
        )
        print(
            "=> result\n"
            f"* total: {self._total:,}\n"
            f"* correct: {self._correct:,}\n"
            f"* accuracy: {acc:.1f}%\n"
            f"* error: {err:.1f}%\n"
            f"* macro_f1: {macro_f1:.1f}%"
        )
        if self._per_class:
            results["perclass_accuracy"] = self._print_per_class()
        if self.cfg.TEST.COMPUTE_CMAT:
            self._save_confusion_matrix()
        return results

    def _print_per_class(self) -> float:
        assert self._lab2cname is not None
        print("=> per-class result")
        accs = []
        for label in sorted(self._per_class_res):
            res = self._per_class_res[label]
            correct, total = sum(res), len(res)
            acc = 100.0 * correct / total
            accs.append(acc)
            print(
                f"* class: {label} ({self._lab2cname[label]})\t"
                f"total: {total:,}\tcorrect: {correct:,}\tacc: {acc:.1f}%"
            )
        mean_acc = float(np.mean(accs))
        print(f"* average: {mean_acc:.1f}%")
        return mean_acc

    def _save_confusion_matrix(self) -> None:
        from sklearn.metrics import confusion_matrix

        cmat = confusion_matrix(self._y_true, self._y_pred, normalize="true")
        save_path = os.path.join(self.cfg.OUTPUT_DIR, "cmat.pt")
        torch.save(torch.from_numpy(cmat), save_path)
        print(f"Confusion matrix is saved to {save_path}")
