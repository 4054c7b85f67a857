"""The ops, one module per family: math, reduce, linalg, shape, nn, state.

base.py holds the Op contract. This file imports nothing on purpose: graph.py
needs base.py, and the families need graph.py, so `symgraph/__init__.py`
imports the families once graph.py is loaded, and attaches Node's operators.
"""
