"""CoOp-family trainers. Importing this package registers all of them in Dassl's TRAINER_REGISTRY."""
import fvgpt  # noqa: F401  (makes `import dassl` resolve before any trainer module imports it)

from trainers import coop, fvg_coop, fvg_kgcoop, fvg_promptsrc, kgcoop, promptsrc, zsclip  # noqa: F401,E402
