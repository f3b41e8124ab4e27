"""Named experiment spaces (Table 1, Table 2, extensions), each with its reference numbers and scales; spaces from
YAML files (`files.py`)."""

from .files import SpaceFileError, dump_space, is_space_file, load_space
from .spaces import (
    NOT_PUBLISHED,
    REGISTRY,
    SCALES,
    Experiment,
    Reference,
    Scale,
    SearchSpace,
    describe,
    get_space,
    smoke_schedule,
)


def resolve_space(name_or_path: str) -> SearchSpace:
    """A built-in space by name, or a space file (.yaml/.yml); KeyError or SpaceFileError (one line) otherwise."""
    if name_or_path in REGISTRY or not is_space_file(name_or_path):
        return get_space(name_or_path)
    return load_space(name_or_path)


__all__ = [
    "NOT_PUBLISHED",
    "REGISTRY",
    "SCALES",
    "Experiment",
    "Reference",
    "Scale",
    "SearchSpace",
    "SpaceFileError",
    "describe",
    "dump_space",
    "get_space",
    "load_space",
    "resolve_space",
    "smoke_schedule",
]
