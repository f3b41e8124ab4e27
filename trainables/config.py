"""One trial's configuration: a frozen dataclass validated once, convertible to and from a flat dict.

The flat dict is what search spaces vary, what Ray passes to a trial and what every result row carries.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from .mosaics import MosaicSpec
from .schedule import StageSchedule

OPTIMIZERS = ("sgd", "rmsprop")
DTYPES = ("float32", "float64")


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
        if self.plateau and self.mosaic.n_val == 0:
            raise ValueError("plateau scheduling steps on validation loss: set n_val > 0")
        if self.stop_train_loss is not None and not self.stop_train_loss > 0:
            raise ValueError(f"stop_train_loss must be positive, got {self.stop_train_loss!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def to_flat(self) -> dict:
        """Flat, JSON- and Parquet-friendly dict; `from_flat(to_flat())` round-trips."""
        flat = {k: v for k, v in asdict(self).items() if k not in ("mosaic", "schedule")}
        flat.update(order=self.schedule.order, k=self.schedule.k, epochs=self.schedule.epochs)
        m = self.mosaic
        flat.update(foreground=",".join(m.foreground_names), grid=m.grid, n_train=m.n_train, n_test=m.n_test,
                    n_val=m.n_val, protocol=m.protocol, data_seed=m.seed)
        return flat

    @classmethod
    def from_flat(cls, flat: dict) -> "TrainConfig":
        """Build from a flat dict (extra keys are ignored, so a whole Ray config can be passed)."""
        mosaic_keys = {"foreground": "foreground", "grid": "grid", "n_train": "n_train", "n_test": "n_test",
                       "n_val": "n_val", "protocol": "protocol", "data_seed": "seed"}
        mosaic = MosaicSpec(**{dst: _plain(flat[src]) for src, dst in mosaic_keys.items() if src in flat})
        schedule = StageSchedule(**{k: _plain(flat[k]) for k in ("order", "k", "epochs") if k in flat})
        own = {f.name for f in fields(cls)} - {"mosaic", "schedule"}
        return cls(mosaic=mosaic, schedule=schedule, **{k: _plain(flat[k]) for k in own if k in flat})


def _plain(value):
    """numpy scalars (as Ray's samplers produce) to Python numbers, so validation sees ints as ints."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value
