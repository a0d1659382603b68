"""Train or evaluate a CoOp-family trainer (CoOp's command line, config flow and output layout).

    python train.py --root DATA --seed 1 --trainer CoOp \
        --dataset-config-file configs/datasets/oxford_pets.yaml \
        --config-file configs/trainers/CoOp/vit_b16_ep50.yaml \
        --output-dir output/... DATASET.NUM_SHOTS 16

Flags come first; everything after them is ``KEY VALUE`` config overrides.
"""
import argparse
import os
import sys

import torch

import fvgpt  # noqa: F401  (resolves `dassl`: upstream when installed, else the bundled fallback)
from dassl.config import get_cfg_default
from dassl.engine import build_trainer
from dassl.utils import collect_env_info, set_random_seed, setup_logger

import datasets  # noqa: F401  (registers the datasets)
import trainers  # noqa: F401  (registers the trainers)
from fvgpt.config import extend_cfg
from fvgpt.results.logs import log_files, read_log


def print_args(args, cfg):
    print("***************")
    print("** Arguments **")
    print("***************")
    for key in sorted(vars(args)):
        print(f"{key}: {getattr(args, key)}")
    print("************")
    print("** Config **")
    print("************")
    print(cfg)


def reset_cfg(cfg, args):
    """CLI flags override the yaml files (only the ones given, as in CoOp)."""
    if args.root:
        cfg.DATASET.ROOT = args.root
    if args.output_dir:
        cfg.OUTPUT_DIR = args.output_dir
    if args.resume:
        cfg.RESUME = args.resume
    if args.seed:
        cfg.SEED = args.seed
    if args.source_domains:
        cfg.DATASET.SOURCE_DOMAINS = args.source_domains
    if args.target_domains:
        cfg.DATASET.TARGET_DOMAINS = args.target_domains
    if args.transforms:
        cfg.INPUT.TRANSFORMS = args.transforms
    if args.trainer:
        cfg.TRAINER.NAME = args.trainer
    if args.backbone:
        cfg.MODEL.BACKBONE.NAME = args.backbone
    if args.head:
        cfg.MODEL.HEAD.NAME = args.head


def _merge_file(cfg, path, flag):
    if not os.path.isfile(path):
        raise SystemExit(f"error: {flag} {path}: no such file (paths are relative to {os.getcwd()})")
    try:
        cfg.merge_from_file(path)
    except (KeyError, ValueError, AssertionError) as exc:
        raise SystemExit(f"error: {flag} {path}: {exc}") from exc


def _merge_opts(cfg, opts):
    try:
        cfg.merge_from_list(opts)
    except (KeyError, ValueError, AssertionError) as exc:
        raise SystemExit(
            f"error: command-line options {' '.join(opts)}: {exc} "
            f"(all --flags must come before the KEY VALUE pairs)"
        ) from exc


def setup_cfg(args):
    cfg = get_cfg_default()
    extend_cfg(cfg)
    if args.dataset_config_file:
        _merge_file(cfg, args.dataset_config_file, "--dataset-config-file")
    if args.config_file:
        _merge_file(cfg, args.config_file, "--config-file")
    reset_cfg(cfg, args)
    _merge_opts(cfg, args.opts)
    cfg.freeze()
    return cfg


def finished_log(output_dir):
    """The log file of a finished training run in ``output_dir``, if any."""
    for log in log_files(output_dir):
        summary = read_log(log)
        if summary.kind == "train" and summary.finished:
            return log
    return None


def main(args):
    cfg = setup_cfg(args)
    if not args.eval_only and not args.no_train:
        done = finished_log(cfg.OUTPUT_DIR)
        if done:
            print(
                f"Output directory {cfg.OUTPUT_DIR} already holds a finished run ({done}); skipping. "
                f"Delete it or choose another --output-dir to train again."
            )
            return
    if cfg.SEED >= 0:
        print(f"Setting fixed seed: {cfg.SEED}")
        set_random_seed(cfg.SEED)
    setup_logger(cfg.OUTPUT_DIR)

    if torch.cuda.is_available() and cfg.USE_CUDA:
        torch.backends.cudnn.benchmark = True

    print_args(args, cfg)
    print("Collecting env info ...")
    print(f"** System info **\n{collect_env_info()}\n")

    trainer = build_trainer(cfg)

    if args.eval_only:
        trainer.load_model(args.model_dir, epoch=args.load_epoch)
        trainer.test()
        return

    if not args.no_train:
        trainer.train()


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=str, default="", help="path to dataset")
    parser.add_argument("--output-dir", type=str, default="", help="output directory")
    parser.add_argument("--resume", type=str, default="", help="checkpoint directory (from which the training resumes)")
    parser.add_argument("--seed", type=int, default=-1, help="only positive value enables a fixed seed")
    parser.add_argument("--source-domains", type=str, nargs="+", help="source domains for DA/DG")
    parser.add_argument("--target-domains", type=str, nargs="+", help="target domains for DA/DG")
    parser.add_argument("--transforms", type=str, nargs="+", help="data augmentation methods")
    parser.add_argument("--config-file", type=str, default="", help="path to config file")
    parser.add_argument("--dataset-config-file", type=str, default="", help="path to config file for dataset setup")
    parser.add_argument("--trainer", type=str, default="", help="name of trainer")
    parser.add_argument("--backbone", type=str, default="", help="name of CNN backbone")
    parser.add_argument("--head", type=str, default="", help="name of head")
    parser.add_argument("--eval-only", action="store_true", help="evaluation only")
    parser.add_argument("--model-dir", type=str, default="", help="load model from this directory for eval-only mode")
    parser.add_argument("--load-epoch", type=int, help="load model weights at this epoch for evaluation")
    parser.add_argument("--no-train", action="store_true", help="do not call trainer.train()")
    parser.add_argument("opts", default=None, nargs=argparse.REMAINDER, help="modify config options using the command-line")
    return parser


if __name__ == "__main__":
    main(build_parser().parse_args(sys.argv[1:]))
