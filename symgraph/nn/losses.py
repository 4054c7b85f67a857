"""Losses as Modules, PyTorch-style: `loss = CrossEntropyLoss()(logits, labels)`."""

from __future__ import annotations

from symgraph.nn.module import Module
from symgraph.ops.nn import mse, softmax_cross_entropy


class MSELoss(Module):
    """Mean squared error over every element: mean((pred - target) ** 2)."""

    scope_name = "mse_loss"

    def forward(self, pred, target):
        return mse(pred, target)


class CrossEntropyLoss(Module):
    """Mean cross-entropy of integer class labels under softmax(logits).

    logits (batch, classes) and labels (batch,) of ints, as PyTorch's
    nn.CrossEntropyLoss; built on sg.softmax_cross_entropy.
    """

    def forward(self, logits, labels):
        return softmax_cross_entropy(logits, labels)
