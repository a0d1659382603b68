"""Dassl's default config tree (keys, values and types as upstream 0.6.3).

yacs rejects yaml keys that are not in this tree and values whose type differs
from the default's, so every key a reference yaml file may set must be here
with the same type (an int default stays an int: ``MAX_EPOCH: 10.0`` fails).
"""
from yacs.config import CfgNode as CN

_C = CN()
_C.VERSION = 1
_C.OUTPUT_DIR = "./output"  # log.txt, tensorboard/ and checkpoints go here
_C.RESUME = ""  # folder of a previous run to resume from ("" = OUTPUT_DIR)
_C.SEED = -1  # negative = do not fix the seed
_C.USE_CUDA = True
_C.VERBOSE = True  # print builder/loader messages

# ---- input pipeline (dassl.data.transforms) ----
_C.INPUT = CN()
_C.INPUT.SIZE = (224, 224)
_C.INPUT.INTERPOLATION = "bilinear"  # bilinear, bicubic or nearest
_C.INPUT.TRANSFORMS = ()  # names from dassl.data.transforms.AVAI_CHOICES
_C.INPUT.NO_TRANSFORM = False  # True: loaders yield PIL images
_C.INPUT.PIXEL_MEAN = [0.485, 0.456, 0.406]
_C.INPUT.PIXEL_STD = [0.229, 0.224, 0.225]
_C.INPUT.CROP_PADDING = 4  # random_crop
_C.INPUT.RRCROP_SCALE = (0.08, 1.0)  # random_resized_crop
_C.INPUT.CUTOUT_N = 1
_C.INPUT.CUTOUT_LEN = 16
_C.INPUT.GN_MEAN = 0.0  # gaussian_noise
_C.INPUT.GN_STD = 0.15
_C.INPUT.RANDAUGMENT_N = 2
_C.INPUT.RANDAUGMENT_M = 10  # magnitude in [0, 30]
_C.INPUT.COLORJITTER_B = 0.4
_C.INPUT.COLORJITTER_C = 0.4
_C.INPUT.COLORJITTER_S = 0.4
_C.INPUT.COLORJITTER_H = 0.1
_C.INPUT.RGS_P = 0.2  # randomgrayscale probability
_C.INPUT.GB_P = 0.5  # gaussian_blur probability
_C.INPUT.GB_K = 21  # gaussian_blur kernel size (odd)

# ---- dataset ----
_C.DATASET = CN()
_C.DATASET.ROOT = ""
_C.DATASET.NAME = ""
_C.DATASET.SOURCE_DOMAINS = ()
_C.DATASET.TARGET_DOMAINS = ()
_C.DATASET.NUM_LABELED = -1
_C.DATASET.NUM_SHOTS = -1  # images per class; < 1 = all
_C.DATASET.VAL_PERCENT = 0.1
_C.DATASET.STL10_FOLD = -1
_C.DATASET.CIFAR_C_TYPE = ""
_C.DATASET.CIFAR_C_LEVEL = 1
_C.DATASET.ALL_AS_UNLABELED = False

# ---- data loaders ----
_C.DATALOADER = CN()
_C.DATALOADER.NUM_WORKERS = 4
_C.DATALOADER.K_TRANSFORMS = 1  # augmentations per training image
_C.DATALOADER.RETURN_IMG0 = False  # also return the un-augmented image
_C.DATALOADER.TRAIN_X = CN()
_C.DATALOADER.TRAIN_X.SAMPLER = "RandomSampler"
_C.DATALOADER.TRAIN_X.BATCH_SIZE = 32
_C.DATALOADER.TRAIN_X.N_DOMAIN = 0
_C.DATALOADER.TRAIN_X.N_INS = 16
_C.DATALOADER.TRAIN_U = CN()
_C.DATALOADER.TRAIN_U.SAME_AS_X = True
_C.DATALOADER.TRAIN_U.SAMPLER = "RandomSampler"
_C.DATALOADER.TRAIN_U.BATCH_SIZE = 32
_C.DATALOADER.TRAIN_U.N_DOMAIN = 0
_C.DATALOADER.TRAIN_U.N_INS = 16
_C.DATALOADER.TEST = CN()
_C.DATALOADER.TEST.SAMPLER = "SequentialSampler"
_C.DATALOADER.TEST.BATCH_SIZE = 32

# ---- model (the CoOp family builds CLIP itself; kept for config compatibility) ----
_C.MODEL = CN()
_C.MODEL.INIT_WEIGHTS = ""
_C.MODEL.BACKBONE = CN()
_C.MODEL.BACKBONE.NAME = ""
_C.MODEL.BACKBONE.PRETRAINED = True
_C.MODEL.HEAD = CN()
_C.MODEL.HEAD.NAME = ""
_C.MODEL.HEAD.HIDDEN_LAYERS = ()
_C.MODEL.HEAD.ACTIVATION = "relu"
_C.MODEL.HEAD.BN = True
_C.MODEL.HEAD.DROPOUT = 0.0

# ---- optimisation (dassl.optim) ----
_C.OPTIM = CN()
_C.OPTIM.NAME = "adam"
_C.OPTIM.LR = 0.0003
_C.OPTIM.WEIGHT_DECAY = 5e-4
_C.OPTIM.MOMENTUM = 0.9
_C.OPTIM.SGD_DAMPNING = 0  # sic: upstream's spelling, used by yaml files
_C.OPTIM.SGD_NESTEROV = False
_C.OPTIM.RMSPROP_ALPHA = 0.99
_C.OPTIM.ADAM_BETA1 = 0.9
_C.OPTIM.ADAM_BETA2 = 0.999
_C.OPTIM.STAGED_LR = False  # NEW_LAYERS at LR, the rest at LR * BASE_LR_MULT
_C.OPTIM.NEW_LAYERS = ()
_C.OPTIM.BASE_LR_MULT = 0.1
_C.OPTIM.LR_SCHEDULER = "single_step"  # single_step, multi_step or cosine
_C.OPTIM.STEPSIZE = (-1,)  # -1 or 0: MAX_EPOCH
_C.OPTIM.GAMMA = 0.1
_C.OPTIM.MAX_EPOCH = 10
_C.OPTIM.WARMUP_EPOCH = -1  # > 0 enables warm-up
_C.OPTIM.WARMUP_TYPE = "linear"  # linear or constant
_C.OPTIM.WARMUP_CONS_LR = 1e-5
_C.OPTIM.WARMUP_MIN_LR = 1e-5
_C.OPTIM.WARMUP_RECOUNT = True  # False: the main schedule starts at WARMUP_EPOCH

# ---- training loop ----
_C.TRAIN = CN()
_C.TRAIN.CHECKPOINT_FREQ = 0  # save every N epochs; <= 0: last epoch only
_C.TRAIN.PRINT_FREQ = 10  # progress line every N batches
_C.TRAIN.COUNT_ITER = "train_x"

# ---- evaluation ----
_C.TEST = CN()
_C.TEST.EVALUATOR = "Classification"
_C.TEST.PER_CLASS_RESULT = False
_C.TEST.COMPUTE_CMAT = False  # save a confusion matrix to OUTPUT_DIR/cmat.pt
_C.TEST.NO_TEST = False
_C.TEST.SPLIT = "test"
_C.TEST.FINAL_MODEL = "last_step"  # last_step or best_val

# ---- trainers: the built-in DA/DG/SSL trainers' sections, so their yaml keys merge ----
_C.TRAINER = CN()
_C.TRAINER.NAME = ""


def _section(name: str, **values: object) -> None:
    node = CN()
    for key, value in values.items():
        setattr(node, key, value)
    setattr(_C.TRAINER, name, node)


_section("MCD", N_STEP_F=4)
_section("MME", LMDA=0.1)
_section(
    "CDAC",
    CLASS_LR_MULTI=10,
    RAMPUP_COEF=30,
    RAMPUP_ITRS=1000,
    TOPK_MATCH=5,
    P_THRESH=0.95,
    STRONG_TRANSFORMS=(),
)
_section("SE", EMA_ALPHA=0.999, CONF_THRE=0.95, RAMPUP=300)
_section("M3SDA", LMDA=0.5, N_STEP_F=4)
_section("DAEL", WEIGHT_U=0.5, CONF_THRE=0.95, STRONG_TRANSFORMS=())
_section("CROSSGRAD", EPS_F=1.0, EPS_D=1.0, ALPHA_F=0.5, ALPHA_D=0.5)
_section(
    "DDAIG",
    G_ARCH="",
    LMDA=0.3,
    CLAMP=False,
    CLAMP_MIN=-1.0,
    CLAMP_MAX=1.0,
    WARMUP=0,
    ALPHA=0.5,
)
_section("DAELDG", WEIGHT_U=0.5, CONF_THRE=0.95, STRONG_TRANSFORMS=())
_section("DOMAINMIX", TYPE="crossdomain", ALPHA=1.0, BETA=1.0)
_section("ENTMIN", LMDA=1e-3)
_section("MEANTEACHER", WEIGHT_U=1.0, EMA_ALPHA=0.999, RAMPUP=5)
_section("MIXMATCH", WEIGHT_U=100.0, TEMP=2.0, MIXUP_BETA=0.75, RAMPUP=20000)
_section("FIXMATCH", WEIGHT_U=1.0, CONF_THRE=0.95, STRONG_TRANSFORMS=())
