"""CoOp-layout datasets. Importing this package registers all of them in Dassl's DATASET_REGISTRY."""
import fvgpt  # noqa: F401  (makes `import dassl` resolve before any dataset module imports it)

from . import (  # noqa: F401  (imported for registration)
    caltech101,
    dtd,
    eurosat,
    fgvc_aircraft,
    food101,
    imagenet,
    imagenet_a,
    imagenet_r,
    imagenet_sketch,
    imagenetv2,
    oxford_flowers,
    oxford_pets,
    stanford_cars,
    sun397,
    synthetic,
    ucf101,
)

# The fifteen standard datasets: DATASET.NAME -> the reference's config file name under configs/datasets/
CONFIG_FILES = {
    "OxfordPets": "oxford_pets.yaml",
    "OxfordFlowers": "oxford_flowers.yaml",
    "FGVCAircraft": "fgvc_aircraft.yaml",
    "DescribableTextures": "dtd.yaml",
    "EuroSAT": "eurosat.yaml",
    "StanfordCars": "stanford_cars.yaml",
    "Food101": "food101.yaml",
    "SUN397": "sun397.yaml",
    "Caltech101": "caltech101.yaml",
    "UCF101": "ucf101.yaml",
    "ImageNet": "imagenet.yaml",
    "ImageNetV2": "imagenetv2.yaml",
    "ImageNetSketch": "imagenet_sketch.yaml",
    "ImageNetA": "imagenet_a.yaml",
    "ImageNetR": "imagenet_r.yaml",
}
