"""How float32 math runs on a CUDA GPU (TrainConfig.precision), for the unpacked and the packed trainer alike.

"fp32": strict IEEE float32 (TF32 off for matmuls and cuDNN convolutions; PyTorch allows TF32 for convolutions by
default). "tf32": TF32 for both. "bf16": the forward pass under bfloat16 autocast, TF32 for the rest. CPU runs and
float64 configurations are unaffected. The TF32 switches are process-wide: they are set for the duration of a
pass and restored afterwards.
"""

from __future__ import annotations

import contextlib

import torch

# What each setting does, in words (reports describe a run's arithmetic with them).
MEANINGS = {"fp32": "strict fp32", "tf32": "TF32 matmuls and convolutions", "bf16": "bf16 autocast forward, TF32 else"}


def applies(device: torch.device, dtype: torch.dtype) -> bool:
    return device.type == "cuda" and dtype == torch.float32


@contextlib.contextmanager
def float32_math(precision: str, device: torch.device, dtype: torch.dtype):
    """TF32 on or off while training or evaluating; restored on exit."""
    if not applies(device, dtype):
        yield
        return
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    saved = matmul.fp32_precision, conv.fp32_precision
    matmul.fp32_precision = conv.fp32_precision = "ieee" if precision == "fp32" else "tf32"
    try:
        yield
    finally:
        matmul.fp32_precision, conv.fp32_precision = saved


def autocast(precision: str, device: torch.device, dtype: torch.dtype):
    """bfloat16 autocast for the forward pass when asked for; a no-op otherwise."""
    if precision == "bf16" and applies(device, dtype):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
