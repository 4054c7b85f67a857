"""Classify handwritten digits (scikit-learn's 8x8 images) with a two-layer MLP.

    python examples/mlp_digits.py              # full run
    python examples/mlp_digits.py --epochs 1   # a quick look (the test suite does this)

The data ships with scikit-learn (`load_digits`: 1,797 images, no download).
The model is Linear(64, 128) -> ReLU -> Linear(128, 10), trained with SGD +
momentum on the mean cross-entropy, mini-batches of 64.
Full run on a 2-core machine: 97.2 % test accuracy after 30 epochs, in about 0.5 s (2026-11-27).
"""

import argparse
import time

import numpy as np

import symgraph as sg

try:  # the digits come with scikit-learn, which symgraph itself does not need
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ModuleNotFoundError:
    raise SystemExit("mlp_digits.py needs scikit-learn for its data: pip install -e '.[examples]'") from None

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--picture", default="mlp_digits.svg",
                    help="where to save a picture of the graph ('' for none)")
args = parser.parse_args()
if args.seed < 0:
    parser.error("--seed must be 0 or more")
if args.epochs < 1:
    parser.error("--epochs must be at least 1")

# Data: pixel values 0..16, scaled to 0..1; a fixed 80/20 split.
digits = load_digits()
X = (digits.data / 16.0).astype(np.float32)
Y = digits.target.astype(np.int64)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.2, random_state=args.seed)

sg.nn.init.seed(args.seed)
x = sg.Placeholder((None, 64), name="x")
y = sg.Placeholder((None,), dtype="int64", name="y")

model = sg.nn.Sequential(sg.nn.Linear(64, 128), sg.nn.ReLU(), sg.nn.Linear(128, 10))
logits = model(x)
loss = sg.nn.CrossEntropyLoss()(logits, y)
accuracy = sg.mean(sg.cast(sg.equal(sg.argmax(logits, axis=1), y), "float32"), name="accuracy")
train = sg.optim.SGD(lr=0.1, momentum=0.9).minimize(loss)

rng = np.random.default_rng(args.seed)

# A picture of the graph just built (needs Graphviz's `dot`; see README).
if args.picture:
    try:
        print("picture of the graph:", sg.render(train, args.picture))
    except sg.RenderError as e:
        print("no picture:", e.headline)

start = time.perf_counter()
with sg.Session() as sess:
    for epoch in range(1, args.epochs + 1):
        losses = []
        for xb, yb in sg.data.batches(X_train, Y_train, batch_size=64, rng=rng):
            value, _ = sess.run([loss, train], feed_dict={x: xb, y: yb})
            losses.append(value)
        test_acc = sess.run(accuracy, feed_dict={x: X_test, y: Y_test})
        print(
            f"epoch {epoch:3d}  loss {np.mean(losses):.4f}  test accuracy {test_acc:.3f}  "
            f"{time.perf_counter() - start:.1f}s"
        )

print(f"final test accuracy {test_acc:.4f}")
