"""Dataset registry and base classes (no built-in datasets in the fallback)."""
from .build import DATASET_REGISTRY, UPSTREAM_DATASET_NAMES, build_dataset  # isort:skip
from .base_dataset import Datum, DatasetBase

__all__ = ["DATASET_REGISTRY", "UPSTREAM_DATASET_NAMES", "build_dataset", "Datum", "DatasetBase"]
