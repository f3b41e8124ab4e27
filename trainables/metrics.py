"""Focus and accuracy metrics, accumulated on the device as one vector of sums per pass.

Per mosaic: focus = argmax(alphas), prediction = argmax(logits); focus true when it hits the foreground slot,
prediction true when it equals the label. FTPT/FFPT/FTPF/FFPF partition the mosaics.
"""

from __future__ import annotations

import math

import torch

# Order of the sums in a counts vector.
FIELDS = ("n", "loss_sum", "correct", "ftpt", "ffpt", "ftpf", "ffpf", "alpha_ge_half", "fg_alpha_sum")
# Metric names each pass reports, with its prefix (train_, test_, val_, final_train_).
METRICS = ("loss", "acc", "ftpt", "ffpt", "ftpf", "ffpf", "alpha_ge_half", "fg_alpha")


def batch_counts(logits: torch.Tensor, alphas: torch.Tensor, labels: torch.Tensor, fg_slot: torch.Tensor,
                 loss_sum: torch.Tensor) -> torch.Tensor:
    """Sums for one batch as a float64 vector in FIELDS order; stays on the device (no host sync)."""
    pred_true = logits.argmax(1) == labels
    focus_true = alphas.argmax(1) == fg_slot
    amax = alphas.max(1).values
    # torch.full launches a kernel; torch.tensor(..., device=cuda) would copy from the host every batch
    n = torch.full((), float(len(labels)), dtype=torch.float64, device=logits.device)
    return torch.stack([
        n,
        loss_sum.double(),
        pred_true.sum().double(),
        (focus_true & pred_true).sum().double(),
        (~focus_true & pred_true).sum().double(),
        (focus_true & ~pred_true).sum().double(),
        (~focus_true & ~pred_true).sum().double(),
        (amax >= 0.5).sum().double(),
        alphas.gather(1, fg_slot[:, None]).sum().double(),
    ])


def summarize(counts: torch.Tensor | list, prefix: str) -> dict[str, float]:
    """Fractions (and mean loss) from a counts vector; the one host sync of a pass happens here."""
    c = dict(zip(FIELDS, counts.tolist() if isinstance(counts, torch.Tensor) else counts))
    n = c["n"] or math.nan
    return {
        f"{prefix}loss": c["loss_sum"] / n,
        f"{prefix}acc": c["correct"] / n,
        f"{prefix}ftpt": c["ftpt"] / n,
        f"{prefix}ffpt": c["ffpt"] / n,
        f"{prefix}ftpf": c["ftpf"] / n,
        f"{prefix}ffpf": c["ffpf"] / n,
        f"{prefix}alpha_ge_half": c["alpha_ge_half"] / n,
        f"{prefix}fg_alpha": c["fg_alpha_sum"] / n,
    }


def metric_names(prefix: str) -> list[str]:
    return [prefix + m for m in METRICS]
