"""One trial's configuration: a frozen dataclass validated once, convertible to and from a flat dict.

The flat dict is what search spaces vary, what Ray passes to a trial and what every result row carries.
`FLAT_FIELDS` is the one list of its keys, types and meanings: the Parquet schema, the report's settings columns
and the `train` command's flags are derived from it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from .checks import require_int
from .mosaics import MosaicSpec
from .schedule import StageSchedule

OPTIMIZERS = ("sgd", "rmsprop")
DTYPES = ("float32", "float64")
# How float32 math runs on a CUDA GPU: strict IEEE float32, TF32 matmuls and convolutions, or the forward pass
# under bfloat16 autocast. CPU runs and float64 configurations are unaffected (trainables/precision.py).
PRECISIONS = ("fp32", "tf32", "bf16")


@dataclass(frozen=True)
class FlatField:
    """One key of the flat config: its Python type (str, int, float or bool) and what it means."""

    name: str
    kind: type
    help: str
    optional: bool = False  # None allowed (and the default)


# In the order result files list them.
FLAT_FIELDS = (
    FlatField("order", str, "what_first | where_first | simultaneous"),
    FlatField("k", int, "epochs per phase"),
    FlatField("epochs", int, "total epochs (a multiple of 2k)"),
    FlatField("what_lr", float, "what network learning rate"),
    FlatField("where_lr", float, "where network learning rate"),
    FlatField("optimizer", str, "sgd (momentum 0.9) | rmsprop"),
    FlatField("momentum", float, "SGD momentum"),
    FlatField("plateau", bool, "ReduceLROnPlateau on validation loss, per network"),
    FlatField("stop_train_loss", float, "stop once the training loss is at or below this", optional=True),
    FlatField("batch_size", int, "mosaics per batch"),
    FlatField("dtype", str, "float32 | float64 (strict parity with the original)"),
    FlatField("precision", str, "float32 math on a CUDA GPU: fp32 (strict) | tf32 | bf16 (autocast); CPU ignores it"),
    FlatField("seed", int, "seed of weight init and batch order"),
    FlatField("foreground", str, "comma-separated foreground classes"),
    FlatField("grid", int, "mosaic is grid x grid CIFAR images"),
    FlatField("n_train", int, "training mosaics"),
    FlatField("n_test", int, "test mosaics"),
    FlatField("n_val", int, "validation mosaics (needed by --plateau)"),
    FlatField("protocol", str, "paper (test mosaics from the training split) | heldout (from the test split)"),
    FlatField("data_seed", int, "seed of the mosaic draw"),
)
FLAT_KEYS = tuple(f.name for f in FLAT_FIELDS)
# Flat keys that live in the nested specs: flat name -> attribute there.
SCHEDULE_KEYS = {"order": "order", "k": "k", "epochs": "epochs"}
MOSAIC_KEYS = {
    "foreground": "foreground",
    "grid": "grid",
    "n_train": "n_train",
    "n_test": "n_test",
    "n_val": "n_val",
    "protocol": "protocol",
    "data_seed": "seed",
}


@dataclass(frozen=True)
class TrainConfig:
    mosaic: MosaicSpec = field(default_factory=MosaicSpec)
    schedule: StageSchedule = field(default_factory=StageSchedule)
    what_lr: float = 0.01
    where_lr: float = 0.01
    optimizer: str = "sgd"  # SGD with momentum, or RMSprop (the alternating-minimisation study)
    momentum: float = 0.9  # SGD only
    plateau: bool = False  # ReduceLROnPlateau(0.5, patience 2, min_lr 5e-5) on validation loss, per network
    stop_train_loss: float | None = None  # stop early once the training loss is at or below this
    batch_size: int = 250
    dtype: str = "float32"  # float64 for strict parity with the original
    precision: str = "fp32"  # float32 math on CUDA; strict unless asked (TF32 is PyTorch's default for convolutions)
    seed: int = 0  # weight init and batch order

    def __post_init__(self):
        for name in ("what_lr", "where_lr"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not isinstance(self.plateau, bool):
            raise ValueError(f"plateau must be true or false, got {self.plateau!r}")
        if self.plateau and self.mosaic.n_val == 0:
            raise ValueError("plateau scheduling steps on validation loss: set n_val > 0")
        if self.stop_train_loss is not None and not self.stop_train_loss > 0:
            raise ValueError(f"stop_train_loss must be positive, got {self.stop_train_loss!r}")
        require_int(self.batch_size, 1, "batch_size must be a positive integer")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        require_int(self.seed, 0, "seed must be a non-negative integer")

    def to_flat(self) -> dict:
        """Flat, JSON- and Parquet-friendly dict in FLAT_KEYS order; `from_flat(to_flat())` round-trips."""
        values = {k: v for k, v in asdict(self).items() if k not in ("mosaic", "schedule")}
        values.update({flat: getattr(self.schedule, attr) for flat, attr in SCHEDULE_KEYS.items()})
        values.update({flat: getattr(self.mosaic, attr) for flat, attr in MOSAIC_KEYS.items()})
        values["foreground"] = ",".join(self.mosaic.foreground_names)
        return {key: values[key] for key in FLAT_KEYS}

    def differences(self, saved: dict) -> list[str]:
        """Flat keys where `saved` (a state's config, maybe from an older version without some keys) differs from
        this config; a key the saved config lacks counts as its default."""
        defaults, mine = TrainConfig().to_flat(), self.to_flat()
        return [k for k in FLAT_KEYS if saved.get(k, defaults[k]) != mine[k]] + sorted(set(saved) - set(FLAT_KEYS))

    @classmethod
    def from_flat(cls, flat: dict) -> TrainConfig:
        """Build from a flat dict (extra keys are ignored, so a whole Ray config can be passed)."""
        mosaic = MosaicSpec(**{attr: _plain(flat[key]) for key, attr in MOSAIC_KEYS.items() if key in flat})
        schedule = StageSchedule(**{attr: _plain(flat[key]) for key, attr in SCHEDULE_KEYS.items() if key in flat})
        own = {f.name for f in fields(cls)} - {"mosaic", "schedule"}
        return cls(mosaic=mosaic, schedule=schedule, **{k: _plain(flat[k]) for k in own if k in flat})


def _plain(value):
    """numpy scalars (as Ray's samplers produce) to Python numbers, so validation sees ints as ints."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value
