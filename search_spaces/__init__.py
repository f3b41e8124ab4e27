"""Named experiment spaces (Table 1, Table 2, extensions), each with its reference numbers and scales."""

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

__all__ = [
    "NOT_PUBLISHED",
    "REGISTRY",
    "SCALES",
    "Experiment",
    "Reference",
    "Scale",
    "SearchSpace",
    "describe",
    "get_space",
    "smoke_schedule",
]
