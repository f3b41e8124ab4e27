"""The one place that decides what counts as an integer setting: `True` is not 1 here."""

from __future__ import annotations


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def require_int(value, minimum: int, message: str) -> None:
    """Raise ValueError(`message`, plus the value) unless `value` is an integer (not a bool) >= minimum."""
    if not is_int(value) or value < minimum:
        raise ValueError(f"{message}, got {value!r}")
