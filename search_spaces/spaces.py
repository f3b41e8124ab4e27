"""The named experiment spaces: what each trial trains, at which scale, and the numbers to compare it with.

A space is a list of experiments (one table row each: order, k, total epochs, learning rates, ...) crossed with
seeds, or, for `search`, Ray samplers plus a scheduler. Scales shrink the data and the epochs without changing
the structure: `paper` is the original's sizes, `cpu` fewer mosaics for CPU-only machines, `smoke` a few hundred
mosaics and a handful of epochs, so a whole space runs through real Ray in about a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fnmatch import fnmatch

from trainables import TrainConfig
from trainables.config import FLAT_KEYS

NOT_PUBLISHED = "not published"


@dataclass(frozen=True)
class Reference:
    """Published numbers for one experiment (fractions). `source` says where they come from."""

    train_acc: float | None = None
    test_acc: float | None = None
    train_focus: tuple[float, float, float, float] | None = None  # FTPT, FFPT, FTPF, FFPF
    test_focus: tuple[float, float, float, float] | None = None
    source: str = NOT_PUBLISHED

    @property
    def published(self) -> bool:
        return self.test_acc is not None


@dataclass(frozen=True)
class Experiment:
    """One row of a table: a label, the flat config values that define it, and its reference numbers."""

    label: str  # e.g. "table1/3"
    values: dict  # flat TrainConfig keys (order, k, epochs, what_lr, where_lr, ...)
    reference: Reference = field(default_factory=Reference)


@dataclass(frozen=True)
class Scale:
    """Sizes set for every trial of a run; None keeps the experiment's own value."""

    name: str
    description: str
    n_train: int | None = None
    n_test: int | None = None
    n_val: int | None = None  # only for experiments that use validation mosaics
    batch_size: int | None = None
    shrink_epochs: bool = False

    def apply(self, values: dict) -> dict:
        out = dict(values)
        for key in ("n_train", "n_test", "batch_size"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if out.get("n_val") and self.n_val is not None:
            out["n_val"] = self.n_val
        if self.shrink_epochs:
            out.update(smoke_schedule(out["order"], out["k"], out["epochs"]))
        return out


SMOKE_K_DIVISOR = 50
SMOKE_MAX_ROUNDS = 4


def smoke_schedule(order: str, k: int, epochs: int) -> dict:
    """k / 50 rounded (at least 1) and at most 4 rounds of 2k: every row keeps its order and both phases,
    and rows with larger k keep a larger k. Simultaneous runs get 4 epochs."""
    if order == "simultaneous":
        return {"k": 1, "epochs": min(epochs, SMOKE_MAX_ROUNDS)}
    k_small = max(1, round(k / SMOKE_K_DIVISOR))
    rounds = min(epochs // (2 * k), SMOKE_MAX_ROUNDS)
    return {"k": k_small, "epochs": 2 * k_small * rounds}


SCALES = {
    "paper": Scale("paper", "the original's sizes: 30,000 train / 10,000 test mosaics, the published epochs"),
    "cpu": Scale(
        "cpu",
        "6,000 train / 2,000 test mosaics, the published epochs (CPU-only machines)",
        n_train=6000,
        n_test=2000,
        n_val=2000,
    ),
    "smoke": Scale(
        "smoke",
        "400 train / 200 test mosaics, k / 50 and at most 4 rounds (plumbing, not accuracy)",
        n_train=400,
        n_test=200,
        n_val=200,
        batch_size=100,
        shrink_epochs=True,
    ),
}


SAMPLERS = ("loguniform", "uniform", "choice", "randint")  # Ray Tune's, by the same names
SCHEDULERS = ("asha", "fifo")


@dataclass(frozen=True)
class Searcher:
    """A random search: a sampler per flat key, a number of samples, and a scheduler (ASHA or none).

    `sample` maps a flat config key to (kind, arguments), kind one of SAMPLERS: ("loguniform", [1e-4, 0.1]),
    ("choice", [1, 2, 5]), ... Declarative, so a space file can state it and importing this never imports Ray.
    A `k` choice keeps only the values whose 2k divides the trial's total epochs (a schedule needs whole rounds).
    """

    sample: dict
    num_samples: dict  # per scale name
    metric: str = "val_acc"
    mode: str = "max"
    grace_epochs: dict = field(default_factory=lambda: {"paper": 20, "cpu": 20, "smoke": 2})
    scheduler: str = "asha"

    def ray_samplers(self, base: dict) -> dict:
        """Ray Tune samplers for a trial whose fixed values are `base`."""
        from ray import tune

        out = {}
        for key, (kind, args) in self.sample.items():
            if key == "k" and kind == "choice":
                args = [k for k in args if base["epochs"] % (2 * k) == 0]
                if not args:
                    raise ValueError(f"no k of the choice divides {base['epochs']} epochs into whole rounds")
            out[key] = tune.choice(list(args)) if kind == "choice" else getattr(tune, kind)(*args)
        return out


@dataclass(frozen=True)
class SearchSpace:
    name: str
    description: str
    experiments: tuple[Experiment, ...]
    default_seeds: int = 1
    searcher: Searcher | None = None
    overrides: dict = field(default_factory=dict)  # flat values set on every trial, after the scale (`--set`)

    def trials(self, scale: str, seeds: int | None = None, first_seed: int = 0) -> list[dict]:
        """Every trial's flat config (grid spaces), validated; for `search`, the fixed part of each sample.
        Seeds are first_seed, first_seed + 1, ...: a later run adds seeds without repeating one."""
        scale_ = SCALES[scale]
        out = []
        for exp in self.experiments:
            for seed in range(first_seed, first_seed + (seeds or self.default_seeds)):
                values = {**scale_.apply({**exp.values, "seed": seed, "data_seed": seed}), **self.overrides}
                full = TrainConfig.from_flat(values).to_flat()  # complete and valid, or a clear ValueError
                out.append({"experiment": exp.label, "space": self.name, "scale": scale, **full})
        return out

    def trial_count(self, scale: str = "paper", seeds: int | None = None) -> int:
        if self.searcher:
            return self.searcher.num_samples[scale] * (seeds or self.default_seeds)
        return len(self.experiments) * (seeds or self.default_seeds)

    def total_epochs(self, scale: str = "paper", seeds: int | None = None) -> int:
        per_seed = sum(t["epochs"] for t in self.trials(scale, 1))
        if self.searcher:
            return per_seed * self.searcher.num_samples[scale] * (seeds or self.default_seeds)
        return per_seed * (seeds or self.default_seeds)

    def with_overrides(self, values: dict) -> SearchSpace:
        """The same space with `values` set on every trial (they win over the scale); keys must be config keys."""
        unknown = sorted(set(values) - set(FLAT_KEYS))
        if unknown:
            raise ValueError(f"unknown config key {unknown[0]!r}; keys: {', '.join(FLAT_KEYS)}")
        if {"seed", "data_seed"} & set(values):
            raise ValueError("seeds are set per trial: use --seeds N (seed s draws the mosaics and the weights)")
        return replace(self, overrides={**self.overrides, **values})

    def subset(self, patterns: list[str]) -> SearchSpace:
        """The same space with only the experiments whose label matches one of the glob patterns."""
        keep = tuple(e for e in self.experiments if any(fnmatch(e.label, p.strip()) for p in patterns))
        return replace(self, experiments=keep)

    def reference(self, label: str) -> Reference:
        for exp in self.experiments:
            if exp.label == label:
                return exp.reference
        return Reference()


# -- Table 1 and Table 2 --------------------------------------------------------------------------------------
# (total epochs, k, what lr, where lr, published train acc, published test acc), from the write-up's Table 1.
# Row 7's plot heading in the write-up says 500 total epochs; its table says 600, which we follow.
TABLE1_ROWS = (
    (180, 5, 0.01, 0.01, 0.96, 0.81),
    (200, 10, 0.01, 0.01, 0.94, 0.79),
    (280, 20, 0.01, 0.001, 0.97, 0.43),
    (320, 20, 0.01, 0.01, 0.97, 0.79),
    (360, 30, 0.01, 0.01, 0.99, 0.76),
    (500, 50, 0.01, 0.01, 0.86, 0.41),
    (600, 50, 0.001, 0.01, 0.97, 0.82),
    (800, 100, 0.001, 0.01, 0.97, 0.83),
)
PAPER_SGD = {"optimizer": "sgd", "momentum": 0.9, "batch_size": 250}


def table(name: str, order: str, published: bool, protocol: str = "paper") -> tuple[Experiment, ...]:
    rows = []
    for i, (epochs, k, what_lr, where_lr, train, test) in enumerate(TABLE1_ROWS, start=1):
        ref = Reference(train, test, source="write-up Table 1") if published else Reference()
        values = {
            "order": order,
            "k": k,
            "epochs": epochs,
            "what_lr": what_lr,
            "where_lr": where_lr,
            "protocol": protocol,
            **PAPER_SGD,
        }
        rows.append(Experiment(f"{name}/{i}", values, ref))
    return tuple(rows)


TABLE1 = table("table1", "what_first", published=True)
TABLE2 = table("table2", "where_first", published=False)

# -- Alternating minimisation (RMSprop + plateau, validation mosaics, early stop at train loss 0.05) ----------
ALTERNATION_ROWS = (
    # label, order, k, train acc %, test acc %, train focus %, test focus %
    ("every1-what", "what_first", 1, 97.0, 79.9, (69.79, 27.36, 0.36, 2.47), (62.44, 18.19, 3.81, 15.56)),
    ("every1-where", "where_first", 1, 92.9, 72.4, (66.59, 29.14, 0.54, 3.71), (58.91, 20.08, 4.41, 16.60)),
    ("every20-what", "what_first", 20, 93.1, 75.1, (65.79, 32.60, 0.25, 1.34), (56.43, 18.47, 5.41, 19.69)),
    ("every20-where", "where_first", 20, 87.0, 71.0, (54.57, 30.23, 1.52, 13.67), (49.55, 21.26, 4.15, 25.04)),
    ("simultaneous", "simultaneous", 1, 97.9, 78.9, (65.96, 29.13, 0.58, 4.31), (58.84, 20.14, 4.39, 16.63)),
)
ALTERNATION_EPOCHS = 120  # "ran 120-140 epochs"; 120 is a multiple of 2 and of 40
RMSPROP_PROTOCOL = {
    "optimizer": "rmsprop",
    "what_lr": 0.001,
    "where_lr": 0.001,
    "plateau": True,
    "stop_train_loss": 0.05,
    "n_val": 10_000,
    "batch_size": 250,
}


def _percent(values):
    return tuple(v / 100 for v in values)


ALTERNATION = tuple(
    Experiment(
        f"alternation/{label}",
        {"order": order, "k": k, "epochs": ALTERNATION_EPOCHS, **RMSPROP_PROTOCOL},
        Reference(
            train / 100,
            test / 100,
            _percent(train_f),
            _percent(test_f),
            source="alternating-minimisation study (PROTOCOL.md section 4)",
        ),
    )
    for label, order, k, train, test, train_f, test_f in ALTERNATION_ROWS
)

# -- k sweep at fixed total epochs ----------------------------------------------------------------------------
KSWEEP_EPOCHS = 200  # divisible by 2k for every k below
KSWEEP = tuple(
    Experiment(
        f"ksweep/{order.split('_')[0]}-k{k}",
        {"order": order, "k": k, "epochs": KSWEEP_EPOCHS, "what_lr": 0.01, "where_lr": 0.01, **PAPER_SGD},
    )
    for order in ("what_first", "where_first")
    for k in (1, 2, 5, 10, 20, 50)
)


# Both learning rates log-uniform in [1e-4, 0.1]; k among 1, 2, 5, 10, 20 where 2k divides the epochs.
SEARCH_SAMPLE = {
    "what_lr": ("loguniform", [1e-4, 1e-1]),
    "where_lr": ("loguniform", [1e-4, 1e-1]),
    "k": ("choice", [1, 2, 5, 10, 20]),
}


SEARCH_BASE = Experiment(
    "search/random",
    {"order": "what_first", "k": 5, "epochs": 200, "what_lr": 0.01, "where_lr": 0.01, "n_val": 10_000, **PAPER_SGD},
)

REGISTRY: dict[str, SearchSpace] = {}


def register(space: SearchSpace) -> SearchSpace:
    REGISTRY[space.name] = space
    return space


register(SearchSpace("table1", "Table 1: what network first, the 8 published settings", TABLE1))
register(SearchSpace("table2", "Table 2: where network first, the same 8 settings (no published numbers)", TABLE2))
register(SearchSpace("tables", "Tables 1 and 2 together (16 trials)", TABLE1 + TABLE2))
register(
    SearchSpace(
        "seeds", "Tables 1 and 2 over 5 seeds (data and init), for mean and spread", TABLE1 + TABLE2, default_seeds=5
    )
)
register(
    SearchSpace(
        "heldout",
        "Tables 1 and 2 with test mosaics from the CIFAR test split (clean protocol)",
        tuple(
            replace(e, label="heldout-" + e.label, values={**e.values, "protocol": "heldout"}) for e in TABLE1 + TABLE2
        ),
    )
)
register(
    SearchSpace(
        "alternation",
        "Alternating every 1 / 20 epochs, both orders, and simultaneous; RMSprop "
        "lr 1e-3 + plateau, early stop at train loss 0.05, with published numbers",
        ALTERNATION,
    )
)
register(SearchSpace("ksweep", "k in 1, 2, 5, 10, 20, 50 at 200 total epochs, both orders, SGD lr 0.01", KSWEEP))
register(
    SearchSpace(
        "search",
        "Random search over both learning rates and k (what first, 200 epochs) with "
        "ASHA early stopping on validation accuracy",
        (SEARCH_BASE,),
        searcher=Searcher(SEARCH_SAMPLE, {"paper": 32, "cpu": 16, "smoke": 4}),
    )
)


def get_space(name: str) -> SearchSpace:
    if name not in REGISTRY:
        raise KeyError(f"unknown space {name!r}; valid spaces: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def describe(space: SearchSpace, scale: str = "paper") -> str:
    epochs = space.total_epochs(scale)
    return f"{space.name:<12} {space.trial_count(scale):>6} {epochs:>7}  {space.description}"
