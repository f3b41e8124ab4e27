"""CIFAR-10 images, read once as uint8 from either official layout.

Two layouts exist: `cifar-10-batches-bin` (raw records, the one under ../shared) and `cifar-10-batches-py`
(pickles, what torchvision downloads). Both give the same 60,000 images; we keep them as uint8 NCHW arrays
(184 MB) and never make float copies: mosaics are gathered and normalised per batch on the device.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_ENV = "MOSAIC_SWEEP_DATA"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

BIN_DIR = "cifar-10-batches-bin"
PY_DIR = "cifar-10-batches-py"
# Published md5 sums of the binary layout (the py layout's sums come from torchvision's CIFAR10 class).
BIN_MD5 = {
    "data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
    "data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
    "data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
    "data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
    "data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
    "test_batch.bin": "803d5f7f4d78ea53de84dbe85f74fb6d",
}
RECORD_BYTES = 1 + 3 * 32 * 32

HOW_TO_GET = (
    f"expected {BIN_DIR}/ (from cifar-10-binary.tar.gz) or {PY_DIR}/ (from cifar-10-python.tar.gz, "
    "https://www.cs.toronto.edu/~kriz/cifar.html); pass --data-dir DIR or set "
    f"{DATA_ENV}=DIR, or add --download to let torchvision fetch {PY_DIR}"
)


class DataError(RuntimeError):
    """CIFAR-10 is missing, partial or corrupt. The message is one line a user can act on."""


@dataclass(frozen=True)
class CifarImages:
    """All CIFAR-10 images as uint8 (N, 3, 32, 32) with int64 labels, train and test split."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name == "train":
            return self.train_images, self.train_labels
        if name == "test":
            return self.test_images, self.test_labels
        raise ValueError(f"unknown CIFAR split {name!r}")

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.train_images, self.train_labels, self.test_images, self.test_labels))


def default_data_dir() -> Path:
    """The data directory when none is given: $MOSAIC_SWEEP_DATA, else ./data."""
    return Path(os.environ.get(DATA_ENV) or "data")


def load_cifar(
    data_dir: str | os.PathLike | None = None, *, verify: bool = True, download: bool = False
) -> CifarImages:
    """Load CIFAR-10 from `data_dir`, which is either a layout folder itself or a folder holding one.

    `verify` checks the published md5 sums (about 0.3 s); turn it off only for synthetic test files.
    `download` lets torchvision fetch the py layout into `data_dir` when neither layout is there.
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    layout = _find_layout(root)
    if layout is None and download:
        _download_py(root)
        layout = _find_layout(root)
    if layout is None:
        raise DataError(f"no CIFAR-10 found at {root}: {HOW_TO_GET}")
    kind, folder = layout
    reader = _read_bin if kind == "bin" else _read_py
    train_x, train_y, test_x, test_y = reader(folder, verify)
    return CifarImages(train_x, train_y, test_x, test_y)


def _find_layout(root: Path) -> tuple[str, Path] | None:
    for folder in (root, root / BIN_DIR, root / PY_DIR):
        if (folder / "data_batch_1.bin").exists() or (folder / "test_batch.bin").exists():
            return "bin", folder
        if (folder / "data_batch_1").exists() or (folder / "test_batch").exists():
            return "py", folder
    return None


def _download_py(root: Path) -> None:
    from torchvision.datasets import CIFAR10

    try:
        CIFAR10(str(root), train=True, download=True)
    except Exception as exc:  # network errors come in many types; the user needs one line
        raise DataError(f"could not download CIFAR-10 into {root}: {exc}") from None


def _read_verified(path: Path, expected_md5: str, verify: bool) -> bytes:
    raw = path.read_bytes()
    if verify and hashlib.md5(raw, usedforsecurity=False).hexdigest() != expected_md5:
        raise DataError(f"CIFAR-10 file {path} is corrupt (md5 differs from the published sum): {HOW_TO_GET}")
    return raw


def _require(folder: Path, names: list[str]) -> None:
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DataError(f"CIFAR-10 copy at {folder} is partial (missing {', '.join(missing)}): {HOW_TO_GET}")


def _read_bin(folder: Path, verify: bool):
    names = list(BIN_MD5)
    _require(folder, names)
    parts = []
    for name in names:
        path = folder / name
        raw = np.frombuffer(_read_verified(path, BIN_MD5[name], verify), dtype=np.uint8)
        if raw.size == 0 or raw.size % RECORD_BYTES:
            raise DataError(f"CIFAR-10 file {path} is corrupt (size {raw.size} is not whole records): {HOW_TO_GET}")
        records = raw.reshape(-1, RECORD_BYTES)
        labels = records[:, 0].astype(np.int64)
        if labels.max() > 9:
            raise DataError(f"CIFAR-10 file {path} is corrupt (label byte > 9): {HOW_TO_GET}")
        parts.append((np.ascontiguousarray(records[:, 1:].reshape(-1, 3, 32, 32)), labels))
    train = parts[:5]
    return (np.concatenate([p[0] for p in train]), np.concatenate([p[1] for p in train]), *parts[5])


def _read_py(folder: Path, verify: bool):
    from torchvision.datasets import CIFAR10

    files = CIFAR10.train_list + CIFAR10.test_list
    _require(folder, [name for name, _ in files])
    parts = []
    for name, md5 in files:
        path = folder / name
        raw = _read_verified(path, md5, verify)
        try:
            entry = pickle.loads(raw, encoding="latin1")
            images = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(entry.get("labels", entry.get("fine_labels")), dtype=np.int64)
        except Exception as exc:
            raise DataError(f"CIFAR-10 file {path} is corrupt ({type(exc).__name__}): {HOW_TO_GET}") from None
        if len(images) != len(labels) or labels.max() > 9:
            raise DataError(f"CIFAR-10 file {path} is corrupt (labels do not match images): {HOW_TO_GET}")
        parts.append((np.ascontiguousarray(images), labels))
    train = parts[:5]
    return (np.concatenate([p[0] for p in train]), np.concatenate([p[1] for p in train]), *parts[5])
