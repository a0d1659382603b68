"""ImageNet-A (200 classes, natural adversarial examples), test only. Layout: docs/DATASETS.md#imageneta."""
from dassl.data.datasets import DATASET_REGISTRY

from .imagenet import ImageNetVariant


@DATASET_REGISTRY.register()
class ImageNetA(ImageNetVariant):
    dataset_dir = "imagenet-adversarial"
    image_subdir = "imagenet-a"
