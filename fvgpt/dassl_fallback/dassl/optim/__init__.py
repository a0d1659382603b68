from .lr_scheduler import AVAI_SCHEDS, build_lr_scheduler
from .optimizer import AVAI_OPTIMS, build_optimizer

__all__ = ["AVAI_SCHEDS", "AVAI_OPTIMS", "build_lr_scheduler", "build_optimizer"]
