"""ImageNet-R (200 classes, renditions), test only. Layout: docs/DATASETS.md#imagenetr."""
from dassl.data.datasets import DATASET_REGISTRY

from .imagenet import ImageNetVariant


@DATASET_REGISTRY.register()
class ImageNetR(ImageNetVariant):
    dataset_dir = "imagenet-rendition"
    image_subdir = "imagenet-r"
