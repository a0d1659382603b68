"""Data path of the project: robust image reading and foreground masks aligned with the augmented image.

``ImageDatasetWrapper`` and ``MaskedDatasetWrapper`` are Dassl ``DatasetWrapper``
subclasses for ``DataManager(cfg, dataset_wrapper=...)``; ``mask_path_for`` is
the mask lookup rule shared with the dataset-checking script.
"""
from fvgpt.data.images import ImageDatasetWrapper, ImageReadError, read_image
from fvgpt.data.masks import (
    MASK_POLICIES,
    MaskedDatasetWrapper,
    MaskReadError,
    MissingMaskError,
    mask_path_for,
    read_mask,
)
from fvgpt.data.paired import MaskAlignmentError, PairedTransform, UnsupportedTransformError, compile_paired

__all__ = [
    "ImageDatasetWrapper",
    "ImageReadError",
    "read_image",
    "MASK_POLICIES",
    "MaskedDatasetWrapper",
    "MaskReadError",
    "MissingMaskError",
    "mask_path_for",
    "read_mask",
    "MaskAlignmentError",
    "PairedTransform",
    "UnsupportedTransformError",
    "compile_paired",
]
