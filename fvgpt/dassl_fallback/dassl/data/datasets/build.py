"""DATASET_REGISTRY and ``build_dataset(cfg)``: DATASET.NAME -> dataset instance."""
from __future__ import annotations

from typing import Any

from dassl.utils import Registry
from dassl.utils.registry import build_from_registry

# Upstream Dassl registers its own datasets under these names, so a project
# dataset class with one of them would fail to import there.
UPSTREAM_DATASET_NAMES = (
    "CIFAR10 CIFAR100 CIFAR10C CIFAR100C CIFARSTL Camelyon17 Digit5 DigitSingle "
    "DigitsDG DomainNet FMoW IWildCam Office31 OfficeHome OfficeHomeDG PACS STL10 "
    "SVHN VLCS VisDA17 miniDomainNet"
).split()

DATASET_REGISTRY = Registry("DATASET", reserved=UPSTREAM_DATASET_NAMES)


def build_dataset(cfg: Any) -> Any:
    """Instantiate the dataset class registered as ``cfg.DATASET.NAME`` with ``cfg``."""
    return build_from_registry(DATASET_REGISTRY, cfg.DATASET.NAME, "dataset", "DATASET.NAME", cfg)
