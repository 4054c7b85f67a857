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
from symgraph.errors import GradientError, GraphError, ShapeError, shape_str
from symgraph.graph import GRADIENT, UPDATE, Node, Variable
from symgraph.ops.base import is_float, shapes_agree
from symgraph.ops.math import cast, maximum, sqrt
from symgraph.ops.reduce import sum as reduce_sum
from symgraph.ops.state import assign, group


class Optimizer:
    """Base class. A subclass writes `update(param, grad)`: the update Nodes for one parameter."""

    # the defaults, for a subclass whose __init__ does not call this one's
    params = None
    weight_decay = 0.0

    def __init__(self, params=None, weight_decay=0.0):
        self.params = None if params is None else _as_variables(params, "params")
        _check_setting(type(self).__name__, "weight_decay", weight_decay, lambda d: d >= 0, ">= 0")
        self.weight_decay = float(weight_decay)

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

    def minimize(self, loss: Node, clip_norm=None, name=None, *, var_list=None) -> Node:
        """One update Node that moves every parameter against the gradient of `loss`.

        The parameters are `var_list` when given (TF1's name), else the optimizer's
        `params`, else every trainable Variable the loss depends on.
        With `clip_norm`, the gradients are first scaled down together so that
        their global norm is at most clip_norm (see clip_by_global_norm).
        """
        if not isinstance(loss, Node):
            raise TypeError(
                f"minimize takes one loss Node, got {type(loss).__name__}: {loss!r}"
                + ("; to train on several losses, add them: minimize(loss1 + loss2)"
                   if isinstance(loss, (list, tuple)) else "")
            )
        if loss.shape != ():
            # gradients() would say "pass grad_y=", which minimize does not take
            raise GradientError(
                f"the loss {loss.name} has shape {shape_str(loss.shape)}; minimize needs a single "
                "number, shape ()",
                node=loss,
                hint="reduce it first: minimize(sg.mean(loss)) or minimize(sg.sum(loss))",
            )
        with loss.graph.as_default():  # the gradients and the updates go to the loss's graph
            return self._minimize(loss, clip_norm, name, var_list)

    def _minimize(self, loss, clip_norm, name, var_list) -> Node:
        params = self._params_for(loss) if var_list is None else _as_variables(var_list, "var_list")
        # A parameter the loss does not reach through ops with gradients (another
        # head's weights, a threshold behind a comparison) gets None and is left as it
        # is, as PyTorch and TF1 leave a parameter without a gradient.
        grads = gradients(loss, params, unconnected="none")
        if all(g is None for g in grads):
            raise GraphError(
                f"the loss {loss.name} depends on none of the {len(params)} parameters through "
                "ops that have gradients, so there is nothing to train",
                node=loss,
                hint="check the params given, or the ops between them and the loss "
                "(a comparison or a cast to int has no gradient)"
                + "".join(f"; {p.name} is {p.dtype}, and only float Variables have gradients"
                          for p in params if not is_float(p.dtype)),
            )
        if clip_norm is not None:
            grads, _ = clip_by_global_norm(grads, clip_norm)
        return self.apply_gradients(list(zip(grads, params)), name=name)

    def apply_gradients(self, grads_and_vars, name=None) -> Node:
        """The update Node for given (gradient, Variable) pairs, e.g. after clipping by hand.
        A pair whose gradient is None is skipped (its Variable stays as it is), as in TF1."""
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            raise GraphError(
                "no (gradient, Variable) pair to apply",
                hint="give the optimizer the parameters to train (params=[...]) or the pairs",
            )
        for grad, param in grads_and_vars:
            if not isinstance(param, Variable):
                raise GraphError(f"can only update Variables, got {param!r}")
            if grad is not None and not shapes_agree(grad.shape, param.shape):
                raise ShapeError(
                    f"the gradient {grad.name} {shape_str(grad.shape)} does not have the shape of "
                    f"the Variable {param.name} {shape_str(param.shape)} it is to update",
                    node=grad,
                    hint="pair each Variable with its own gradient, in the same order",
                )
        grads_and_vars = [(g, p) for g, p in grads_and_vars if g is not None]
        if not grads_and_vars:
            raise GraphError(
                "every gradient given to apply_gradients is None: there is nothing to update"
            )
        graph = grads_and_vars[0][1].graph
        updates = []
        # (as_default: the update Nodes, and the state Variables of self.state, go to the
        # parameters' graph even when another graph is the default)
        with graph.as_default(), graph._building(UPDATE), graph.name_scope(name or type(self).__name__):
            for grad, param in grads_and_vars:
                if self.weight_decay:
                    grad = grad + self.weight_decay * param  # L2 penalty, as in PyTorch
                made = self.update(param, grad)
                if not isinstance(made, (list, tuple)) or not all(isinstance(u, Node) for u in made):
                    raise TypeError(
                        f"{type(self).__name__}.update returned {made!r}; it must return a list of "
                        "update Nodes, e.g. [sg.assign(param, param - lr * grad)]"
                    )
                for u in made:
                    if not u.op.is_update:  # param - lr * grad computes a value; nothing stores it
                        raise GraphError(
                            f"{type(self).__name__}.update returned {u.name} ({u.op.name}), "
                            f"which computes a value but updates no Variable",
                            node=u,
                            hint="wrap each new value in sg.assign: "
                            "return [sg.assign(param, param - lr * grad)]",
                        )
                updates.extend(made)
            return group(*updates, name="step")

    def update(self, param: Variable, grad: Node) -> list[Node]:
        """The update Nodes (sg.assign) for one parameter, given its gradient: what a
        new optimizer writes. Called once per parameter, inside the optimizer's scope."""
        raise NotImplementedError(f"{type(self).__name__} must define update(param, grad)")

    def state(self, param: Variable, what: str, value=0.0, shape=None, dtype=None) -> Variable:
        """A non-trainable Variable shaped like param (momentum, Adam's moments), or of the
        given shape and dtype (Adam's step count); saved in checkpoints.

        One per parameter and `what` for this optimizer: a second minimize() of another
        loss over the same parameter continues the same momentum, as TF1's slots and
        PyTorch's per-parameter state do."""
        # (param, what) -> its Variable; made here, so a subclass need not call __init__
        states = self.__dict__.setdefault("_states", {})
        key = (param, what)
        if key not in states:
            shape = param.shape if shape is None else shape
            dtype = param.dtype if dtype is None else dtype
            states[key] = Variable(
                np.full(shape, value, dtype=dtype), name=f"{param.name}/{what}", trainable=False
            )
        return states[key]


def _as_variables(given, what: str) -> list[Variable]:
    """params= or var_list= as a list of Variables, each once: one Variable, or a list of
    them (as TF1 flattens what it is given). A weight tied between two modules is in both's
    parameters(), and two updates of one Variable in one step would be refused when the
    step runs. `what` names the argument in the messages."""
    if callable(getattr(given, "parameters", None)):
        raise TypeError(
            f"{what} must be Variables, got the module {type(given).__name__}; "
            f"pass its Variables: {what}=module.parameters()"
        )
    if callable(given):  # module.parameters, not called
        raise TypeError(
            f"{what} must be Variables, got the function {getattr(given, '__name__', given)!r}; "
            f"call it: {what}=module.parameters()"
        )
    variables = list(dict.fromkeys([given] if isinstance(given, Node) else given))
    for v in variables:
        if isinstance(v, Node) and not isinstance(v, Variable):
            raise GraphError(
                f"{what} holds {v.name}, a {v.op.name} Node, not a Variable: only Variables "
                "can be trained",
                node=v,
                hint=f"leave it out of {what}, or make it an sg.Variable if it is to be learned",
            )
        if not isinstance(v, Variable):
            raise TypeError(f"{what} must hold only Variables, got {v!r}")
    if what == "var_list" and not variables:
        raise GraphError("var_list is empty: there is nothing to train", hint="list the Variables to update")
    return variables


def _check_learning_rate(optimizer: str, lr) -> None:
    """A positive number, or a Node (a schedule): checked when the optimizer is made,
    where a bad value would otherwise surface as NaNs many steps later."""
    if isinstance(lr, Node):
        if lr.shape != ():
            raise ShapeError(
                f"{optimizer} learning rate {lr.name} has shape {shape_str(lr.shape)}; it must be "
                "a single number",
                node=lr,
                hint="declare the Placeholder with shape (): sg.Placeholder((), name='lr')",
            )
        return
    if not _is_number(lr):
        raise TypeError(f"{optimizer} learning rate must be a number or a Node, got {type(lr).__name__}: {lr!r}")
    _check_setting(optimizer, "learning rate", lr, lambda r: r > 0, "positive and finite")


def _is_number(value) -> bool:
    """A Python or NumPy int or float; not a bool, a string or None."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_setting(optimizer: str, what: str, value, in_range, expected: str) -> None:
    """One of an optimizer's number settings (momentum, eps, a beta): a finite number
    for which in_range(value) holds, said in `expected` when it does not."""
    if not _is_number(value):
        raise TypeError(f"{optimizer} {what} must be a number, got {type(value).__name__}: {value!r}")
    if not (np.isfinite(value) and in_range(value)):
        raise ValueError(f"{optimizer} {what} must be {expected}, got {value}")


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (as in PyTorch and TF1):

        velocity <- momentum * velocity + grad
        param    <- param - lr * velocity          (momentum 0: param - lr * grad)

    With `nesterov=True` the step looks ahead along the new velocity, as PyTorch's
    and TF1's `use_nesterov` do:  param <- param - lr * (grad + momentum * velocity).
    `lr` may be a number or a Node (a scalar Placeholder makes a schedule).
    """

    def __init__(self, lr, params=None, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, weight_decay)
        _check_learning_rate("SGD", lr)
        _check_setting("SGD", "momentum", momentum, lambda m: 0.0 <= m < 1.0, "in [0, 1)")
        if nesterov and not momentum:
            raise ValueError("SGD nesterov=True needs a momentum above 0, as in PyTorch")
        self.lr = lr
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def update(self, param, grad):
        if not self.momentum:
            return [assign(param, param - self.lr * grad)]
        velocity = self.state(param, "momentum")
        new_velocity = velocity * self.momentum + grad
        step = grad + self.momentum * new_velocity if self.nesterov else new_velocity
        return [assign(velocity, new_velocity), assign(param, param - self.lr * step)]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): a step per parameter scaled by running gradient moments.

        m <- b1 m + (1 - b1) g            (mean of the gradient)
        v <- b2 v + (1 - b2) g*g          (mean of its square)
        param <- param - lr * m_hat / (sqrt(v_hat) + eps)
    where m_hat = m / (1 - b1**t), v_hat = v / (1 - b2**t) undo the bias of starting
    at zero, and t counts steps. m, v and t are non-trainable Variables.
    """

    def __init__(self, lr=0.001, params=None, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, weight_decay)
        _check_learning_rate("Adam", lr)
        _check_setting("Adam", "eps", eps, lambda e: e >= 0, ">= 0")
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Adam betas must be a pair (beta1, beta2), as in PyTorch, got {betas!r}")
        for which, b in zip(("betas[0]", "betas[1]"), betas):
            _check_setting("Adam", which, b, lambda b: 0.0 <= b < 1.0, "in [0, 1)")
        self.lr = lr
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)

    def update(self, param, grad):
        b1, b2 = self.beta1, self.beta2
        m = self.state(param, "adam_m")
        v = self.state(param, "adam_v")
        # The step count and the bias corrections are float64 whatever the parameter's
        # dtype, as in PyTorch: in float32, 1 - 0.999**t is off by 1e-5 relative, and a
        # float16 count stops at 2048 (2048 + 1 rounds back to 2048).
        t = self.state(param, "adam_t", shape=(), dtype=np.float64)
        t_new = t + 1
        m_new = b1 * m + (1 - b1) * grad
        v_new = b2 * v + (1 - b2) * (grad * grad)
        m_hat = m_new / cast(1 - b1**t_new, param.dtype)
        v_hat = v_new / cast(1 - b2**t_new, param.dtype)
        new_param = param - self.lr * m_hat / (sqrt(v_hat) + self.eps)
        return [assign(t, t_new), assign(m, m_new), assign(v, v_new), assign(param, new_param)]


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients by one factor so their joint L2 norm is at most max_norm.

    Returns (clipped gradients, global norm). As TF1: g * max_norm / max(norm, max_norm).
    RNNs need it: a gradient through many steps can grow very large.
    """
    grads = list(grads)
    present = [g for g in grads if g is not None]  # None: no gradient, passed through (TF1)
    if not present:
        raise GraphError("clip_by_global_norm needs at least one gradient")
    if not isinstance(max_norm, Node):
        # 0 would zero every gradient (or make 0/0 NaNs), and inf make inf/inf NaNs:
        # surely a mistake, so say so now
        _check_setting("clip_by_global_norm", "max_norm", max_norm, lambda n: n > 0, "positive")
    graph = present[0].graph
    # These Nodes work on gradients, so they are tagged as gradient Nodes (pictures
    # and sg.explain show them with the gradient graph), in a scope of their own.
    with graph.as_default(), graph._building(GRADIENT), graph.name_scope("clip_by_global_norm"):
        # float16 squares are summed in float32: a norm above about 256 is inf in float16,
        # and max_norm / inf would scale every gradient to 0
        wide = [cast(g, np.float32) if g.dtype == np.float16 else g for g in present]
        squares = [reduce_sum(g * g) for g in wide]
        total = squares[0]
        for s in squares[1:]:
            total = total + s
        norm = sqrt(total, name="global_norm")
        scale = max_norm / maximum(norm, max_norm)
        return [None if g is None else g * (scale if scale.dtype == g.dtype else cast(scale, g.dtype))
                for g in grads], norm
