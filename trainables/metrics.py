"""Focus and accuracy metrics, accumulated on the device as one vector of sums per pass.

Per mosaic: focus = argmax(alphas), prediction = argmax(logits); focus true when it hits the foreground slot,
prediction true when it equals the label. FTPT/FFPT/FTPF/FFPF partition the mosaics.

This module owns the metric vocabulary: the passes, the metric names of a pass and the focus outcomes. Result
schemas, reports and plots derive their column names from it.
"""

from __future__ import annotations

import math

import torch

# Passes over a mosaic set, as column prefixes: during training, after the epoch on the test and validation
# mosaics, and the clean pass over the training mosaics after the last epoch (what the paper's tables report).
PASSES = ("train_", "test_", "val_", "final_train_")
FOCUS = ("ftpt", "ffpt", "ftpf", "ffpf")  # the four exclusive focus/prediction outcomes
FOCUS_NAMES = {f: f.upper() for f in FOCUS}
# Metric names each pass reports, with its prefix (train_loss, test_ftpt, ...).
METRICS = ("loss", "acc", *FOCUS, "alpha_ge_half", "fg_alpha")
# Order of the sums in a counts vector.
FIELDS = ("n", "loss_sum", "correct", *FOCUS, "alpha_ge_half", "fg_alpha_sum")


def batch_counts(
    logits: torch.Tensor, alphas: torch.Tensor, labels: torch.Tensor, fg_slot: torch.Tensor, loss_sum: torch.Tensor
) -> torch.Tensor:
    """Sums for one batch as a float64 vector in FIELDS order; stays on the device (no host sync)."""
    pred_true = logits.argmax(1) == labels
    focus_true = alphas.argmax(1) == fg_slot
    amax = alphas.max(1).values
    # torch.full launches a kernel; torch.tensor(..., device=cuda) would copy from the host every batch
    n = torch.full((), float(len(labels)), dtype=torch.float64, device=logits.device)
    return torch.stack(
        [
            n,
            loss_sum.double(),
            pred_true.sum().double(),
            (focus_true & pred_true).sum().double(),
            (~focus_true & pred_true).sum().double(),
            (focus_true & ~pred_true).sum().double(),
            (~focus_true & ~pred_true).sum().double(),
            (amax >= 0.5).sum().double(),
            alphas.gather(1, fg_slot[:, None]).sum().double(),
        ]
    )


def summarize(counts: torch.Tensor | list, prefix: str) -> dict[str, float]:
    """A pass's metrics (fractions, mean loss) from its counts vector, named `prefix` + METRICS; the one host
    sync of a pass happens here."""
    c = dict(zip(FIELDS, counts.tolist() if isinstance(counts, torch.Tensor) else counts))
    n = c["n"] or math.nan
    values = {
        "loss": c["loss_sum"],
        "acc": c["correct"],
        **{f: c[f] for f in FOCUS},
        "alpha_ge_half": c["alpha_ge_half"],
        "fg_alpha": c["fg_alpha_sum"],
    }
    return {prefix + name: values[name] / n for name in METRICS}


def metric_names(prefix: str) -> list[str]:
    return [prefix + m for m in METRICS]


def all_metric_names() -> list[str]:
    """Every per-pass metric column, pass by pass."""
    return [name for prefix in PASSES for name in metric_names(prefix)]
