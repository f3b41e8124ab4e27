"""The write-up's two networks, layer for layer (Module1 = WhereNet, Module2 = WhatNet).

Parameter names equal the write-up's, so its saved weights load with `load_state_dict`. The only change is
that WhereNet scores all patches of a batch in one call instead of a Python loop over the slots.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    """conv(3->6,5) pool conv(6->16,5) pool fc 400-120-84-10, relu after each, then fc4 10->out_features."""

    def __init__(self, out_features: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.fc4 = nn.Linear(10, out_features)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        # channels_last roughly halves the time of these thin convolutions on CPU; the values are the same.
        x = self.pool(F.relu(self.conv1(x.contiguous(memory_format=torch.channels_last))))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        return self.fc4(x)


class WhereNet(LeNet):
    """Scores each patch with one number; softmax over the slots gives the alphas.

    forward: patches (B, S, 3, 32, 32) -> (attention-weighted image (B, 3, 32, 32), alphas (B, S)).
    """

    def __init__(self):
        super().__init__(1)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, s = patches.shape[:2]
        alphas = F.softmax(self.score(patches.flatten(0, 1)).view(b, s), dim=1)
        weighted = torch.einsum("bs,bschw->bchw", alphas, patches)
        return weighted, alphas


class WhatNet(LeNet):
    """Classifies the attention-weighted image into the foreground classes (3 by default)."""

    def __init__(self, n_classes: int = 3):
        super().__init__(n_classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.score(image)
