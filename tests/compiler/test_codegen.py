"""The generated code (codegen.py) computes what the plain loop computes, in one function
or, for a long Program, in chunks that pass values through the list `s`.

The chunk size is made small here (codegen.CHUNK), so that a few-step RNN is
already cut into many chunks.
"""

from __future__ import annotations

import re
import weakref

import numpy as np
import pytest

import symgraph as sg
from symgraph.compiler import codegen
from symgraph.graph import make_node


@pytest.fixture(autouse=True)
def _swap_every_new_value(monkeypatch):
    """The Session copies a small new Variable value instead of taking its block
    (SWAP_ABOVE_BYTES); these tests' Variables are small, and the swap is what they test."""
    monkeypatch.setattr("symgraph.session.SWAP_ABOVE_BYTES", 0)


def _rnn(steps=6):
    """A float64 tanh RNN with a loss, its gradients and an SGD step: (fetches, feeds)."""
    rng = np.random.default_rng(0)
    x = sg.Placeholder((3, steps, 4), dtype="float64", name="x")
    target = sg.Placeholder((3, 5), dtype="float64", name="target")
    cell = sg.nn.RNNCell(4, 5, dtype="float64")
    _, h = sg.nn.unroll(cell, sg.unstack(x, axis=1))
    loss = sg.mse(h, target)
    params = cell.parameters()
    grads = sg.gradients(loss, params)
    train = sg.optim.SGD(lr=0.1, params=params).minimize(loss)
    feeds = {x: rng.normal(size=(3, steps, 4)), target: rng.normal(size=(3, 5))}
    return [loss, *grads, h, x, train], feeds


def _inputs(program, feeds):
    values = [np.asarray(feeds[node], dtype=node.dtype) for _, node in program.feeds]
    variables = [np.array(var.initial_value) for _, var in program.variables]
    return values, variables


def _copied(result):
    """A run's answers copied out of the Program's buffers, which the next run reuses."""
    fetched, updates = result
    return [None if v is None else np.array(v) for v in fetched], [np.array(v) for _, v in updates]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 50])
def test_chunked_code_gives_exactly_the_loops_values_and_gradients(monkeypatch, chunk):
    monkeypatch.setattr(codegen, "CHUNK", chunk)
    fetches, feeds = _rnn()
    program = sg.compile(fetches, feeds)
    n = len(program.instructions)
    assert n > 50  # so every chunk size cuts it
    assert program.source.count("\ndef chunk") == -(-n // chunk)  # written, and so used from now
    values, variables = _inputs(program, feeds)
    loop = _copied(program.run_loop(values, variables))
    generated = _copied(program.execute(values, variables))
    for expected, got in zip(loop[0] + loop[1], generated[0] + generated[1]):
        if expected is None:
            assert got is None
        else:
            np.testing.assert_array_equal(got, expected)  # the same kernels in the same order


def test_a_session_trains_the_same_with_chunks_as_with_one_function(monkeypatch):
    def train(chunk):
        monkeypatch.setattr(codegen, "CHUNK", chunk)
        graph = sg.Graph()
        with graph.as_default(), sg.Session() as sess:
            sg.nn.init.seed(0)
            fetches, feeds = _rnn()
            loss, train_step = fetches[0], fetches[-1]
            losses = [sess.run([loss, train_step], feeds)[0] for _ in range(4)]
            return losses, sess.run(fetches[:-1], feeds)  # then the gradients, and more

    one, chunked = train(10_000), train(5)
    np.testing.assert_array_equal(chunked[0], one[0])
    for got, expected in zip(chunked[1], one[1]):
        np.testing.assert_array_equal(got, expected)


def test_a_short_program_stays_one_function():
    x = sg.Placeholder((2,), dtype="float64", name="x")
    source = sg.compile(sg.tanh(x) * 2.0, {x: np.zeros(2)}).source
    assert source.startswith("def run(feeds, variables):")
    assert "def chunk" not in source and "s[" not in source


def test_feeds_variables_and_constants_can_be_fetched_from_chunks(monkeypatch):
    monkeypatch.setattr(codegen, "CHUNK", 1)
    x = sg.Placeholder((2,), dtype="float64", name="x")
    v = sg.Variable(np.array([1.0, 2.0]), name="v")
    c = sg.Constant(np.array([3.0, 4.0]), name="c")
    y = sg.exp(x) + v * c
    step = sg.assign(v, v + 1.0)
    with sg.Session() as sess:
        for _ in range(3):  # the first run is the loop; then the generated code
            got = sess.run([y, x, v, c, y * 2.0, step], {x: np.array([0.5, -1.0])})
    before = np.array([1.0, 2.0]) + 2.0
    expected_y = np.exp([0.5, -1.0]) + before * [3.0, 4.0]
    np.testing.assert_array_equal(got[0], expected_y)
    np.testing.assert_array_equal(got[1], [0.5, -1.0])
    np.testing.assert_array_equal(got[2], before)
    np.testing.assert_array_equal(got[3], [3.0, 4.0])
    np.testing.assert_array_equal(got[4], expected_y * 2.0)
    assert got[5] is None


class _FailsOnNegative(sg.Op):
    """Fails at run time when its first input has a negative element: a buggy user op."""

    name = "test_fails_on_negative"
    registered = False

    def infer(self, x, y, z):
        return x.shape, x.dtype

    def forward(self, x, y, z):
        if np.any(x < 0):
            raise ValueError("negative input")
        return x + y + z


def test_a_kernel_failing_in_a_later_chunk_names_its_instruction_and_inputs(monkeypatch):
    monkeypatch.setattr(codegen, "CHUNK", 2)
    x = sg.Placeholder((2,), dtype="float64", name="x")
    early = sg.exp(x, name="early")  # made in the first chunk, read in the last: in s
    h = x
    for _ in range(5):
        h = sg.tanh(h)  # keeps the sign of x
    local = sg.tanh(h, name="local")  # made in the same chunk as `bad`
    constant = sg.Constant(np.array([5.0, 6.0]), name="five_six")
    bad = make_node(_FailsOnNegative(), (local, early, constant), name="bad")
    with sg.Session(disable="all") as sess:  # no fusing: one instruction per Node
        sess.run(bad, {x: np.array([10.0, 10.0])})  # the loop: fine
        sess.run(bad, {x: np.array([10.0, 10.0])})  # the generated code: fine
        (program,) = sess._programs.values()
        assert program.source.count("\ndef chunk") >= 3
        slot = {inst.name: inst.out for inst in program.instructions}
        (constant_slot,) = [s for s, _ in program.constants]
        assert (  # one input of each kind
            f"= k{slot['bad']}(v{slot['local']}, s[{slot['early']}], c{constant_slot})"
            in program.source
        )
        with pytest.raises(sg.RunError) as info:
            sess.run(bad, {x: np.array([-1.0, 1.0])})  # local < 0: fails
    message = str(info.value)
    assert "test_fails_on_negative failed while running: ValueError: negative input" in message
    assert info.value.node is bad
    # every input is described with its real value's shape: a local of the chunk,
    # a value from an earlier chunk (in s) and a constant (read from its global)
    assert re.search(
        r"inputs: %\d+ local \(2,\) float64, %\d+ early \(2,\) float64, %\d+ \S+ \(2,\) float64", message
    ), message
    assert f"created at test_codegen.py:{bad.line}" in message
    # and the error was raised in the generated code's last chunk, not in the loop
    frames = []
    tb = info.value.__cause__.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    generated = [code.co_name for code in frames if code.co_filename == codegen.FILENAME]
    assert generated[-1] == f"chunk{-(-len(program.instructions) // 2) - 1}"


class _Remember(sg.Op):
    """Returns a fresh copy of its input and keeps a weak reference to it in `made`."""

    name = "test_remember"
    registered = False
    made: list = []

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        value = x.copy()
        self.made.append(weakref.ref(value))
        return value


class _Probe(sg.Op):
    """Passes its input through, noting whether each remembered value is still alive."""

    name = "test_probe"
    registered = False
    alive: list = []

    def infer(self, x):
        return x.shape, x.dtype

    def forward(self, x):
        self.alive.append([ref() is not None for ref in _Remember.made])
        return x.copy()


def test_chunks_free_a_value_after_its_last_reader(monkeypatch):
    """A value that crosses chunks lives in s; after its last read it is let go there
    too, so it is not held to the end of the run."""
    monkeypatch.setattr(codegen, "CHUNK", 2)
    _Remember.made.clear()
    _Probe.alive.clear()
    x = sg.Placeholder((3,), dtype="float64", name="x")
    kept = make_node(_Remember(), (x,), name="kept")  # made in chunk 0
    h = sg.tanh(x)
    for _ in range(4):
        h = sg.tanh(h)
    h = h + kept  # its last reader, a later chunk
    for _ in range(4):
        h = sg.tanh(h)
    out = make_node(_Probe(), (h,), name="probe")  # a chunk after that
    program = sg.compile(out, {x: np.zeros(3)}, disable="all")
    slot = next(i.out for i in program.instructions if i.name == "kept")
    assert f"s[{slot}] = k{slot}(" in program.source  # it crosses chunks
    assert re.search(rf"^    (.* = )?s\[{slot}\]( = .*)? = None$", program.source, re.M)
    feeds = {node: np.ones(3) for _, node in program.feeds}
    for _ in range(2):  # in the generated chunks: reading program.source made them
        program.run(feeds, {})
    assert _Probe.alive == [[False], [False, False]]  # each run had let it go already


# -- memory: compile() works one function at a time, while no buffers exist ----------------------
def test_each_generated_function_is_compiled_on_its_own(monkeypatch):
    """compile() holds memory for all it is given at once: one chunk, not the Program."""
    monkeypatch.setattr(codegen, "CHUNK", 3)
    compiled = []

    def compile_and_note(text, *args):
        compiled.append(text)
        return compile(text, *args)

    monkeypatch.setattr(codegen, "compile", compile_and_note, raising=False)  # before builtins
    fetches, feeds = _rnn()
    program = sg.compile(fetches, feeds)
    source = program.source
    assert len(compiled) == 1 + source.count("\ndef chunk") > 10  # run, then each chunk
    assert all(len(re.findall("^def ", text, re.M)) == 1 for text in compiled)
    assert "".join(compiled) == source


def test_a_failing_line_has_its_number_in_the_whole_source(monkeypatch):
    """Each function, compiled alone, still numbers its lines as program.source does."""
    monkeypatch.setattr(codegen, "CHUNK", 2)
    x = sg.Placeholder((2,), dtype="float64", name="x")
    h = x
    for _ in range(6):
        h = sg.tanh(h)  # keeps the sign of x
    bad = make_node(_FailsOnNegative(), (h, h, h), name="bad")
    program = sg.compile(bad, {x: np.zeros(2)}, disable="all")
    slot = next(inst.out for inst in program.instructions if inst.name == "bad")
    for _ in range(2):  # the loop, then the generated code: fine
        program.run({x: np.ones(2)}, {})
    with pytest.raises(sg.RunError) as info:
        program.run({x: np.array([-1.0, 1.0])}, {})
    tb = info.value.__cause__.__traceback__
    while tb.tb_frame.f_code.co_filename != codegen.FILENAME or tb.tb_frame.f_code.co_name == "run":
        tb = tb.tb_next
    line = program.source.splitlines()[tb.tb_lineno - 1]
    assert f"= k{slot}(" in line, line


def _rnn_with_stacked_states():
    """An RNN whose hidden states are stacked: each step's state is computed straight
    into its place in the stack's buffer (a concat written in place)."""
    x = sg.Placeholder((4, 3), dtype="float64", name="x")
    w = sg.Variable(np.linspace(-1, 1, 9).reshape(3, 3), name="w")
    h, states = x, []
    for _ in range(5):
        h = sg.tanh(h @ w)
        states.append(h)
    stacked = sg.stack(states)
    loss = sg.sum(stacked * stacked)
    (grad,) = sg.gradients(loss, [w])
    feed = {x: np.linspace(-2, 2, 12).reshape(4, 3)}
    return [loss, grad, stacked, states[2]], feed, w, loss


def test_the_first_runs_buffers_are_let_go_before_the_source_is_compiled(monkeypatch):
    """compile() needs as much memory for a moment as the buffers: the two must not add up."""
    fetches, feed, _, _ = _rnn_with_stacked_states()
    seen = []
    build = codegen.build

    def build_and_look(program):
        seen.append((program._arrays, [ref() for ref in first_arrays]))
        return build(program)

    monkeypatch.setattr(codegen, "build", build_and_look)
    with sg.Session() as sess:
        first = sess.run(fetches, feed)
        (program,) = sess._programs.values()
        assert any(i.in_place for i in program.instructions)
        first_arrays = [weakref.ref(block) for block in program._arrays]
        assert first_arrays and not seen  # the first run: the loop, with the buffers
        second = sess.run(fetches, feed)
        third = sess.run(fetches, feed)
        assert program._arrays is not None  # made again after it
    # compiled once, on the second run, while neither the buffers nor their memory existed
    assert seen == [(None, [None] * len(first_arrays))]
    assert program._arrays is None  # closing the Session let them go
    for a, b, c in zip(first, second, third):
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(c, a)


def test_training_with_buffers_made_again_gives_the_plain_runs_variables():
    """Variables take a planned buffer at commit (Program.swap_buffer); buffers made
    again after compiling must not upset that, with two Programs taking turns."""
    results = []
    for disable in ((), "all"):
        graph = sg.Graph()
        with graph.as_default(), sg.Session(disable=disable) as sess:
            fetches, feed, w, loss = _rnn_with_stacked_states()
            train = sg.optim.SGD(lr=0.01).minimize(loss)
            losses = []
            for _ in range(4):
                losses.append(sess.run([loss, train], feed)[0])
                sess.run(train, feed)  # another Program, updating the same Variable
            results.append((losses, sess.run(w), sess.run(fetches, feed)))
    (losses, w_value, values), (plain_losses, plain_w, plain_values) = results
    np.testing.assert_allclose(losses, plain_losses, rtol=1e-12)
    np.testing.assert_allclose(w_value, plain_w, rtol=1e-12, atol=1e-12)
    for got, expected in zip(values, plain_values):
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)
