"""Layers, losses and RNNs, PyTorch-style, built on the graph.

module.py (Module), layers.py (Linear, activations, Embedding, Dropout,
Sequential), rnn.py (RNNCell, unroll), losses.py, init.py (initial values).
"""

from symgraph.nn import init
from symgraph.nn.layers import (
    Dropout,
    Embedding,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    training_flag,
)
from symgraph.nn.losses import CrossEntropyLoss, MSELoss
from symgraph.nn.module import Module
from symgraph.nn.rnn import RNNCell, unroll

__all__ = [
    "init", "Module", "Linear", "Sigmoid", "Tanh", "ReLU", "Embedding", "Dropout", "Sequential",
    "training_flag", "RNNCell", "unroll", "MSELoss", "CrossEntropyLoss",
]
