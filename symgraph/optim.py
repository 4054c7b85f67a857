"""Optimizers: update Nodes built from the gradient graph.

An optimizer is a small amount of graph-building code. `minimize(loss)`:
  1. asks autodiff for the gradient of the loss with respect to each parameter;
  2. builds, for each parameter, the Nodes that compute its next value;
  3. wraps those in `sg.assign` update Nodes, grouped into the one Node it returns.
Running that Node in a Session performs one training step. Any state an
optimizer keeps (momentum's velocity) lives in non-trainable Variables, so
checkpoints carry it.
"""

from __future__ import annotations

import numpy as np

from symgraph.autodiff import ancestors, gradients
from symgraph.errors import GraphError
from symgraph.graph import UPDATE, Node, Variable
from symgraph.ops.state import assign, group


class Optimizer:
    """Base class: subclasses define `apply_gradients(pairs)` returning update Nodes."""

    def __init__(self, params=None):
        self.params = None if params is None else list(params)

    def _params_for(self, loss: Node) -> list[Variable]:
        if self.params is not None:
            return self.params
        found = [n for n in ancestors([loss]) if isinstance(n, Variable) and n.trainable]
        if not found:
            raise GraphError(
                f"the loss {loss.name} depends on no trainable Variable, so there is nothing to train",
                node=loss,
                hint="build the model from sg.Variable parameters, or pass params=[...]",
            )
        return found

    def minimize(self, loss: Node, name=None) -> Node:
        """One update Node that moves every parameter against the gradient of `loss`."""
        params = self._params_for(loss)
        grads = gradients(loss, params)
        return self.apply_gradients(list(zip(grads, params)), name=name)

    def apply_gradients(self, grads_and_vars, name=None) -> Node:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (as in PyTorch and TF1):

        velocity <- momentum * velocity + grad
        param    <- param - lr * velocity          (momentum 0: param - lr * grad)

    `lr` may be a number or a Node (a scalar Placeholder makes a schedule).
    """

    def __init__(self, lr, params=None, momentum=0.0):
        super().__init__(params)
        if not isinstance(lr, Node) and not lr > 0:
            raise ValueError(f"SGD learning rate must be positive, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {momentum}")
        self.lr = lr
        self.momentum = float(momentum)

    def apply_gradients(self, grads_and_vars, name=None) -> Node:
        updates = []
        graph = grads_and_vars[0][1].graph
        with graph._building(UPDATE), graph.name_scope(name or "SGD"):
            for grad, param in grads_and_vars:
                step = grad
                if self.momentum:
                    velocity = Variable(
                        np.zeros(param.shape, param.dtype),
                        name=f"{param.name}/momentum",
                        trainable=False,
                    )
                    step = velocity * self.momentum + grad
                    updates.append(assign(velocity, step))
                updates.append(assign(param, param - self.lr * step))
            return group(*updates, name="step")
