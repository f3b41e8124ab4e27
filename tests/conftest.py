import os
from pathlib import Path

import numpy as np
import pytest

from trainables import CifarImages, load_cifar

ROOT = Path(__file__).resolve().parents[1]
SHARED_BIN = ROOT.parent / "shared" / "cifar-10-batches-bin"


def real_data_dir() -> Path | None:
    """The official CIFAR-10 copy for real-data tests: $MOSAIC_SWEEP_DATA, else ../shared, else None."""
    env = os.environ.get("MOSAIC_SWEEP_DATA")
    for candidate in ([Path(env)] if env else []) + [SHARED_BIN]:
        if candidate.exists():
            return candidate
    return None


def synthetic_images(n_train: int = 1000, n_test: int = 300, seed: int = 0) -> CifarImages:
    """Random uint8 images with every label present; enough for plumbing tests, not for learning."""
    rng = np.random.default_rng(seed)
    make = lambda n: (rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8), np.arange(n, dtype=np.int64) % 10)
    return CifarImages(*make(n_train), *make(n_test))


@pytest.fixture(scope="session")
def fake_images() -> CifarImages:
    return synthetic_images()


@pytest.fixture(scope="session")
def real_images() -> CifarImages:
    path = real_data_dir()
    if path is None:
        pytest.skip("official CIFAR-10 copy not present (../shared/cifar-10-batches-bin or $MOSAIC_SWEEP_DATA)")
    return load_cifar(path)
