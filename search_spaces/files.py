"""Search spaces as YAML files: write one by hand, or start from `mosaic-sweep show SPACE`.

    name: lr-study                      # the space's name (run names default to NAME-SCALE)
    description: what it is for         # optional
    seeds: 1                            # optional: default seeds per row
    rows:                               # a grid space: one trial per row and seed
      - label: lr-study/high            # optional (default NAME/i)
        order: what_first               # any flat config key (mosaic-sweep train --help lists them)
        k: 5
        epochs: 180
        what_lr: 0.01
        reference: {train_acc: 0.96, test_acc: 0.81, source: write-up Table 1}   # optional
    search:                             # optional: a random search instead of (or around) one row
      sample:                           # Ray Tune samplers by name: loguniform, uniform, choice, randint
        what_lr: {loguniform: [1.0e-4, 0.1]}
        k: {choice: [1, 2, 5]}
      num_samples: 16                   # or per scale: {paper: 32, cpu: 16, smoke: 4}
      scheduler: asha                   # asha (early stopping) or fifo
      metric: val_acc                   # what ASHA ranks on (val_acc needs n_val > 0)
      mode: max
      grace_epochs: 20                  # or per scale

A search has exactly one row: its fixed values. Every row is checked by the same code as the built-in spaces
(TrainConfig); an error names the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from trainables import TrainConfig
from trainables.config import FLAT_KEYS

from .spaces import SAMPLERS, SCALES, SCHEDULERS, Experiment, Reference, Scale, Searcher, SearchSpace

TOP_KEYS = ("name", "description", "seeds", "rows", "search")
ROW_KEYS = ("label", "reference", *FLAT_KEYS)
REFERENCE_KEYS = ("train_acc", "test_acc", "train_focus", "test_focus", "source")
SEARCH_KEYS = ("sample", "num_samples", "scheduler", "metric", "mode", "grace_epochs")


class SpaceFileError(ValueError):
    """A space file that cannot be used, in one line: file, line, key."""


def is_space_file(text: str) -> bool:
    return text.endswith((".yaml", ".yml")) or Path(text).is_file()


class _Node(dict):
    """A mapping that remembers the line of each key (1-based) and its own."""

    line: int = 0
    lines: dict


class _LineLoader(yaml.SafeLoader):
    """yaml.safe_load, with every mapping a _Node."""


def _construct_node(loader: _LineLoader, node) -> _Node:
    mapping = _Node(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_node)


def load_space(path: str | Path) -> SearchSpace:
    """The space a YAML file describes, checked; SpaceFileError (one line) otherwise."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(), Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except FileNotFoundError:
        raise SpaceFileError(f"{path}: no such space file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SpaceFileError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    fail = _Failer(path)
    if not isinstance(doc, dict):
        fail(None, None, "must be a mapping with name and rows (see search_spaces/files.py)")
    fail.unknown(doc, TOP_KEYS, "top level")
    name = doc.get("name")
    if not isinstance(name, str) or not name or any(c in name for c in "/\\ "):
        fail(doc, "name", f"name must be a word without '/', spaces or backslashes, got {name!r}")
    seeds = doc.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        fail(doc, "seeds", f"seeds must be a positive integer, got {seeds!r}")
    rows = doc.get("rows")
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        fail(doc, "rows", "rows must be a non-empty list of mappings (flat config keys per row)")
    experiments = tuple(_experiment(fail, name, i, row) for i, row in enumerate(rows, start=1))
    if len({e.label for e in experiments}) != len(experiments):
        fail(doc, "rows", "row labels must be distinct")
    searcher = None
    if doc.get("search") is not None:
        if len(experiments) != 1:
            fail(doc, "search", "a search has exactly one row: its fixed values")
        searcher = _searcher(fail, doc["search"])
    space = SearchSpace(name, str(doc.get("description") or f"from {path}"), experiments, seeds, searcher)
    for scale in SCALES:  # every row must be a valid config at every scale, as the built-in spaces are
        try:
            trials = space.trials(scale, 1)
            if searcher is not None:
                searcher.ray_samplers(trials[0])  # e.g. a k choice that leaves no whole rounds
        except ValueError as exc:
            fail(doc, "rows", f"at scale {scale}: {exc}")
    return space


def space_from_rows(name: str, rows: list[dict], seeds: int = 1, description: str | None = None) -> SearchSpace:
    """A grid space from rows given in Python (the API's `run([...])`), checked like a space file's rows."""
    fail = _Failer(f"rows of space {name!r}")
    if not rows or not all(isinstance(r, dict) for r in rows):
        fail(None, None, "rows must be a non-empty list of dicts of flat config keys")
    experiments = tuple(_experiment(fail, name, i, row) for i, row in enumerate(rows, start=1))
    if len({e.label for e in experiments}) != len(experiments):
        fail(None, None, "row labels must be distinct")
    space = SearchSpace(name, description or f"{len(rows)} rows given in Python", experiments, seeds)
    try:
        space.trials("paper", 1)
    except ValueError as exc:
        fail(None, None, str(exc))
    return space


def _experiment(fail, name: str, index: int, row: dict) -> Experiment:
    fail.unknown(row, ROW_KEYS, f"row {index}")
    label = str(row.get("label") or f"{name}/{index}")
    values = {k: v for k, v in row.items() if k in FLAT_KEYS}
    if {"seed", "data_seed"} & set(values):
        fail(row, "seed" if "seed" in values else "data_seed", "seeds are set per trial: use seeds: N or --seeds N")
    try:
        TrainConfig.from_flat(values)
    except (ValueError, TypeError) as exc:
        key = next((k for k in values if k in str(exc)), None)
        fail(row, key, f"row {label}: {exc}")
    reference = Reference()
    if row.get("reference") is not None:
        ref = row["reference"]
        if not isinstance(ref, dict):
            fail(row, "reference", "reference must be a mapping (train_acc, test_acc, source, ...)")
        fail.unknown(ref, REFERENCE_KEYS, f"reference of row {label}")
        try:
            reference = Reference(
                _fraction(ref.get("train_acc")),
                _fraction(ref.get("test_acc")),
                _focus(ref.get("train_focus")),
                _focus(ref.get("test_focus")),
                str(ref.get("source") or f"{name} space file"),
            )
        except (TypeError, ValueError) as exc:
            fail(row, "reference", f"reference of row {label}: {exc}")
    return Experiment(label, values, reference)


def _fraction(value):
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"accuracies are fractions in [0, 1], got {value!r}")
    return float(value)


def _focus(values):
    if values is None:
        return None
    if not isinstance(values, list) or len(values) != 4:
        raise ValueError("focus values are a list of 4 fractions: FTPT, FFPT, FTPF, FFPF")
    return tuple(_fraction(v) for v in values)


def _per_scale(value, what: str) -> dict:
    """An int for every scale, or a mapping with one int per scale."""
    values = value if isinstance(value, dict) else dict.fromkeys(SCALES, value)
    if set(values) != set(SCALES) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values.values()
    ):
        raise ValueError(f"{what} must be a positive integer or one per scale ({', '.join(SCALES)})")
    return dict(values)


def _searcher(fail, search) -> Searcher:
    if not isinstance(search, dict):
        fail(None, None, "search must be a mapping (sample, num_samples, scheduler, ...)")
    fail.unknown(search, SEARCH_KEYS, "search")
    sample = search.get("sample")
    if not isinstance(sample, dict) or not sample:
        fail(
            search, "sample", "search.sample must map config keys to a sampler, e.g. what_lr: {loguniform: [1e-4, 0.1]}"
        )
    parsed = {}
    for key, spec in sample.items():
        if key not in FLAT_KEYS or key in ("seed", "data_seed"):
            fail(sample, key, f"search.sample: {key!r} is not a config key that can be sampled")
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in SAMPLERS:
            fail(sample, key, f"search.sample.{key}: one of {', '.join(SAMPLERS)} with its arguments")
        kind, args = next(iter(spec.items()))
        if not isinstance(args, list) or not args or (kind != "choice" and len(args) != 2):
            fail(
                sample,
                key,
                f"search.sample.{key}.{kind}: a list of " + ("values" if kind == "choice" else "[low, high]"),
            )
        parsed[key] = (kind, list(args))
    try:
        num_samples = _per_scale(search.get("num_samples", 8), "search.num_samples")
        grace = _per_scale(search.get("grace_epochs", {"paper": 20, "cpu": 20, "smoke": 2}), "search.grace_epochs")
    except ValueError as exc:
        fail(search, "num_samples" if "num_samples" in str(exc) else "grace_epochs", str(exc))
    scheduler = search.get("scheduler", "asha")
    if scheduler not in SCHEDULERS:
        fail(search, "scheduler", f"search.scheduler must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
    mode = search.get("mode", "max")
    if mode not in ("max", "min"):
        fail(search, "mode", f"search.mode must be max or min, got {mode!r}")
    return Searcher(parsed, num_samples, str(search.get("metric", "val_acc")), mode, grace, scheduler)


class _Failer:
    """Raises SpaceFileError naming the file and, where known, the line of the offending key."""

    def __init__(self, path: Path | str):
        self.path = path

    def __call__(self, mapping, key, message: str):
        line = None
        if isinstance(mapping, _Node):
            line = mapping.lines.get(key, mapping.line) if key is not None else mapping.line
        where = f" line {line}" if line else ""
        raise SpaceFileError(f"{self.path}{where}: {message}")

    def unknown(self, mapping: dict, allowed, where: str) -> None:
        for key in mapping:
            if key not in allowed:
                self(mapping, key, f"unknown key {key!r} in {where}; allowed: {', '.join(allowed)}")


def dump_space(space: SearchSpace, scale: str = "paper") -> str:
    """A space as a YAML file that `load_space` reads back: each row's values at `scale` (sizes and, at smoke
    scale, epochs as that scale sets them), its reference numbers, and the search, if any."""
    apply: Scale = SCALES[scale]
    rows = []
    for exp in space.experiments:
        row = {"label": exp.label, **{k: v for k, v in apply.apply(exp.values).items()}, **space.overrides}
        ref = exp.reference
        if ref.published:
            row["reference"] = {
                k: v
                for k, v in {
                    "train_acc": ref.train_acc,
                    "test_acc": ref.test_acc,
                    "train_focus": list(ref.train_focus) if ref.train_focus else None,
                    "test_focus": list(ref.test_focus) if ref.test_focus else None,
                    "source": ref.source,
                }.items()
                if v is not None
            }
        rows.append(row)
    doc = {"name": space.name, "description": space.description, "seeds": space.default_seeds, "rows": rows}
    if space.searcher is not None:
        s = space.searcher
        doc["search"] = {
            "sample": {k: {kind: list(args)} for k, (kind, args) in s.sample.items()},
            "num_samples": dict(s.num_samples),
            "scheduler": s.scheduler,
            "metric": s.metric,
            "mode": s.mode,
            "grace_epochs": dict(s.grace_epochs),
        }
    header = f"# mosaic-sweep space {space.name}" + (f", rows at scale {scale}" if scale != "paper" else "") + "\n"
    return header + yaml.safe_dump(doc, sort_keys=False, width=120)
