"""Which network trains in which epoch."""

from __future__ import annotations

from dataclasses import dataclass

from .checks import require_int

ORDERS = ("what_first", "where_first", "simultaneous")


@dataclass(frozen=True)
class StageSchedule:
    """Alternate the two networks in phases of k epochs for `epochs` epochs in all (n * 2k).

    `simultaneous` trains both networks every epoch; k is then only a label and any positive total works.
    """

    order: str = "what_first"
    k: int = 5
    epochs: int = 180

    def __post_init__(self):
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {self.order!r}")
        require_int(self.k, 1, "k (epochs per phase) must be an integer >= 1")
        require_int(self.epochs, 1, "total epochs must be a positive integer")
        if self.order != "simultaneous" and self.epochs % (2 * self.k):
            raise ValueError(
                f"total epochs ({self.epochs}) must be a positive multiple of 2k = {2 * self.k} "
                f"(n rounds of k what + k where epochs)"
            )

    def phase(self, epoch: int) -> str:
        """The network trained in 0-based `epoch`: 'what', 'where' or 'both' (PROTOCOL.md section 2)."""
        if not 0 <= epoch < self.epochs:
            raise IndexError(f"epoch {epoch} outside 0..{self.epochs - 1}")
        if self.order == "simultaneous":
            return "both"
        first, second = ("what", "where") if self.order == "what_first" else ("where", "what")
        return first if epoch % (2 * self.k) < self.k else second

    def phase_ends(self) -> tuple[int, ...]:
        """The epochs (counted from 1) that end a phase: every k-th; a simultaneous run is one phase."""
        if self.order == "simultaneous":
            return (self.epochs,)
        return tuple(range(self.k, self.epochs + 1, self.k))
