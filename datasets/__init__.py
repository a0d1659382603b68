"""CoOp-layout datasets. Importing this package registers all of them in Dassl's DATASET_REGISTRY."""
import fvgpt  # noqa: F401  (makes `import dassl` resolve before any dataset module imports it)

from datasets import synthetic  # noqa: F401,E402
