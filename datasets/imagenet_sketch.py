"""ImageNet-Sketch (1000 classes, sketches), test only. Layout: docs/DATASETS.md#imagenetsketch."""
from dassl.data.datasets import DATASET_REGISTRY

from .imagenet import ImageNetVariant


@DATASET_REGISTRY.register()
class ImageNetSketch(ImageNetVariant):
    dataset_dir = "imagenet-sketch"
    image_subdir = "images"
