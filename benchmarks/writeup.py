"""The write-up's code path, kept faithfully for the parity test and the speed benchmark.

Module1/Module2 are copied from STAGE_WISE_TRAINING.md with only the hard-coded globals lifted (`batch`, "cuda"):
the 9-slot Python loop, float64 buffers and per-sample mosaics served by a DataLoader. Not used for training,
so it lives beside the benchmark rather than in the installed package (tests import it from here too).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class Module1(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.fc4 = nn.Linear(10, 1)

    def forward(self, z):
        batch = z.shape[0]
        x = torch.zeros([batch, 9], dtype=torch.float64, device=z.device)
        y = torch.zeros([batch, 3, 32, 32], dtype=torch.float64, device=z.device)
        for i in range(9):
            x[:, i] = self.helper(z[:, i])[:, 0]
        x = F.softmax(x, dim=1)  # alphas
        for i in range(9):
            x1 = x[:, i]
            y = y + torch.mul(x1[:, None, None, None], z[:, i])
        return y, x

    def helper(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        return self.fc4(x)


class Module2(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.fc4 = nn.Linear(10, 3)

    def forward(self, y):
        y1 = self.pool(F.relu(self.conv1(y)))
        y1 = self.pool(F.relu(self.conv2(y1)))
        y1 = y1.view(-1, 16 * 5 * 5)
        y1 = F.relu(self.fc1(y1))
        y1 = F.relu(self.fc2(y1))
        y1 = F.relu(self.fc3(y1))
        return self.fc4(y1)


class MosaicDataset(Dataset):
    """The original's dataset: a list of per-mosaic tensors (9 patches each), label and foreground index."""

    def __init__(self, mosaic_list, labels, fore_idx):
        self.mosaic, self.label, self.fore_idx = mosaic_list, labels, fore_idx

    def __len__(self):
        return len(self.label)

    def __getitem__(self, idx):
        return self.mosaic[idx], self.label[idx], self.fore_idx[idx]


def writeup_epoch(where, what, loader, train_where: bool, opt_where, opt_what, device="cpu") -> int:
    """One training epoch as the authors coded it; returns mosaics seen."""
    criterion = nn.CrossEntropyLoss()
    seen = 0
    for inputs, labels, _ in loader:
        inputs, labels = inputs.to(device), labels.to(device)
        opt_where.zero_grad()
        opt_what.zero_grad()
        avg, _alphas = where(inputs)
        outputs = what(avg)
        loss = criterion(outputs, labels)
        loss.backward()
        (opt_where if train_where else opt_what).step()
        seen += len(labels)
    return seen


def writeup_loader(patches: torch.Tensor, labels: torch.Tensor, fg: torch.Tensor, batch_size: int = 250, seed=0):
    """Per-sample float64 mosaics behind a shuffling DataLoader, as in the original notebooks."""
    dataset = MosaicDataset([p for p in patches.double()], labels, fg)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
