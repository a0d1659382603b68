"""Utilities re-exported flat, as upstream does (``from dassl.utils import ...``)."""
from .logger import Logger, setup_logger
from .meters import AverageMeter, MetricMeter
from .registry import Registry
from .tools import (
    atomic_write,
    check_availability,
    check_isfile,
    collect_env_info,
    get_most_similar_str_to_a_from_b,
    listdir_nohidden,
    mkdir_if_missing,
    read_image,
    read_json,
    set_random_seed,
    tolist_if_not,
    write_json,
)
from .torchtools import (
    count_num_param,
    load_checkpoint,
    load_pretrained_weights,
    resume_from_checkpoint,
    save_checkpoint,
    strip_module_prefix,
)

__all__ = [
    "Logger",
    "setup_logger",
    "AverageMeter",
    "MetricMeter",
    "Registry",
    "atomic_write",
    "check_availability",
    "check_isfile",
    "collect_env_info",
    "get_most_similar_str_to_a_from_b",
    "listdir_nohidden",
    "mkdir_if_missing",
    "read_image",
    "read_json",
    "set_random_seed",
    "tolist_if_not",
    "write_json",
    "count_num_param",
    "load_checkpoint",
    "load_pretrained_weights",
    "resume_from_checkpoint",
    "save_checkpoint",
    "strip_module_prefix",
]
