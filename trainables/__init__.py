"""Everything that runs inside one trial. Importing this package never imports Ray (see `tune_trial`)."""

from .cifar import CLASSES, CifarImages, DataError, load_cifar
from .config import TrainConfig
from .engine import StageWiseTrainer, StateMismatch, resolve_device
from .mosaics import MosaicSet, MosaicSpec, build_mosaic_sets
from .nets import WhatNet, WhereNet
from .packed import PackedTrainer, packable, plan_packs
from .schedule import StageSchedule

__all__ = [
    "CLASSES",
    "CifarImages",
    "DataError",
    "load_cifar",
    "TrainConfig",
    "StageWiseTrainer",
    "StateMismatch",
    "resolve_device",
    "MosaicSet",
    "MosaicSpec",
    "build_mosaic_sets",
    "WhatNet",
    "WhereNet",
    "StageSchedule",
    "PackedTrainer",
    "packable",
    "plan_packs",
]
