"""Data path of the project: robust image reading and foreground masks aligned with the augmented image.

``ImageDatasetWrapper`` and ``MaskedDatasetWrapper`` are Dassl ``DatasetWrapper``
subclasses for ``DataManager(cfg, dataset_wrapper=...)``; ``mask_path_for`` is
the mask lookup rule shared with the dataset-checking script.

Names are re-exported lazily so that importing a light submodule (for example
``fvgpt.data.synthetic``, which only writes files) does not import
``dassl.data`` and its dependencies.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ImageDatasetWrapper": "fvgpt.data.images",
    "ImageReadError": "fvgpt.data.images",
    "read_image": "fvgpt.data.images",
    "MASK_POLICIES": "fvgpt.data.masks",
    "MaskedDatasetWrapper": "fvgpt.data.masks",
    "MaskReadError": "fvgpt.data.masks",
    "MissingMaskError": "fvgpt.data.masks",
    "mask_path_for": "fvgpt.data.masks",
    "read_mask": "fvgpt.data.masks",
    "MaskAlignmentError": "fvgpt.data.paired",
    "PairedTransform": "fvgpt.data.paired",
    "UnsupportedTransformError": "fvgpt.data.paired",
    "compile_paired": "fvgpt.data.paired",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fvgpt.data' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
