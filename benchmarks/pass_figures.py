"""What each compiler pass does to two real models: node counts, FLOPs and planned memory.

    python benchmarks/pass_figures.py

The models are those of examples/mlp_digits.py (an MLP on 8x8 digits, batch
64) and examples/char_rnn.py (a character RNN unrolled 32 steps, batch 32),
each with its SGD / Adam training step. For each, sg.explain lists every step
of the compile; the last line compares the planned peak memory of the
intermediates with what keeping every intermediate to the end would take.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a clone, uninstalled

import symgraph as sg  # noqa: E402


def mlp():
    x = sg.Placeholder((None, 64), name="x")
    y = sg.Placeholder((None,), dtype="int64", name="y")
    model = sg.nn.Sequential(sg.nn.Linear(64, 128), sg.nn.ReLU(), sg.nn.Linear(128, 10))
    loss = sg.nn.CrossEntropyLoss()(model(x), y)
    train = sg.optim.SGD(lr=0.1, momentum=0.9).minimize(loss)
    feeds = {x: np.zeros((64, 64), "float32"), y: np.zeros(64, "int64")}
    return [loss, train], feeds


def char_rnn(T=32, H=128, vocab=92):
    embed, cell, readout = sg.nn.Embedding(vocab, 32), sg.nn.RNNCell(32, H), sg.nn.Linear(H, vocab)
    inputs = [sg.Placeholder((None,), dtype="int64", name=f"char_{t}") for t in range(T)]
    targets = sg.Placeholder((T, None), dtype="int64", name="targets")
    states, _ = sg.nn.unroll(cell, [embed(ids) for ids in inputs])
    logits = readout(sg.reshape(sg.stack(states), (-1, H)))
    loss = sg.nn.CrossEntropyLoss()(logits, sg.reshape(targets, (-1,)))
    train = sg.optim.Adam(lr=0.005).minimize(loss, clip_norm=5.0)
    feeds = {ids: np.zeros(32, "int64") for ids in inputs}
    feeds[targets] = np.zeros((T, 32), "int64")
    return [loss, train], feeds


def main():
    for name, build in [("MLP (examples/mlp_digits.py)", mlp), ("char RNN (examples/char_rnn.py)", char_rnn)]:
        with sg.Graph().as_default():
            fetches, feeds = build()
            steps = sg.explain(fetches, feeds)
        print(name)
        print(steps.table())
        final = steps.program.stats()
        print(
            f"planned peak of intermediates {final['peak_bytes'] / 1e6:.2f} MB in "
            f"{final['buffers']} reused buffers ({final['buffer_bytes'] / 1e6:.2f} MB); "
            f"keeping every intermediate: {final['naive_bytes'] / 1e6:.2f} MB\n"
        )


if __name__ == "__main__":
    main()
