"""Text that goes into a picture: escaped so no name can break the DOT, and kept short.

Every piece of user text (node names, scope names, values) reaches the DOT
only inside an HTML-like label (`<...>`) built here, after `html_text`
escaped it. DOT node ids are generated (`n0`, `n1`, ...), never taken from
names, so a name full of quotes, brackets or newlines can change how a
label reads, but never the structure of the graph or its attributes.
"""

from __future__ import annotations

import html

import numpy as np

# Control characters are shown as Python escapes (a newline as the two characters "\n"):
# a label must stay on one line, and Graphviz's XML parser rejects most of them anyway.
_VISIBLE = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def visible_text(text) -> str:
    """`text` with every character that a picture or a page cannot show, or that XML
    rejects, written as a Python escape: the one sanitiser for all user text (names,
    scopes, titles) in pictures, tooltips and the explorer page.

    Lone surrogates ("\\ud800": not writable as UTF-8) become \\udXXX; control
    characters (a newline, ESC, DEL) \\n, \\x1b, \\x7f; the XML noncharacters U+FFFE
    and U+FFFF \\ufffe, \\uffff. What is left is printable and valid in UTF-8 and XML.
    """
    text = str(text)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif code < 0x20 or 0x7F <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif code in (0xFFFE, 0xFFFF):
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def html_text(text) -> str:
    """`text` as safe HTML (and HTML-label) content: made visible, then & < > " ' as entities."""
    return html.escape(visible_text(text), quote=True)


#: the most characters a line of a label shows: a 10,000-character name drew a box
#: 117,000 points wide
LINE_LIMIT = 80


def shortened(text: str, limit: int = LINE_LIMIT) -> str:
    """`text`, or when longer than `limit` its start and end around an ellipsis: the end
    of a long scoped name (its op) says as much as its start (its scopes)."""
    if len(text) <= limit:
        return text
    tail = limit // 3
    return text[: limit - tail - 1] + "\u2026" + text[-tail:]


def html_label(lines) -> str:
    """An HTML-like label from (text, style) lines; style is "", "b" (bold) or "small".

    The text of every line is escaped here, so callers pass raw text.
    """
    parts = []
    for text, style in lines:
        # shortened once made visible: a name of 80 ESC characters is 320 once written \x1b
        body = html.escape(shortened(visible_text(text)), quote=True)
        if not body:
            pass  # Graphviz rejects an empty element (<B></B>): an empty line stays bare
        elif style == "b":
            body = f"<B>{body}</B>"
        elif style == "small":
            body = f'<FONT POINT-SIZE="8" COLOR="#555555">{body}</FONT>'
        elif style == "title":
            body = f'<FONT POINT-SIZE="13">{body}</FONT>'
        parts.append(body)
    return "<" + ("<BR/>".join(parts) or " ") + ">"  # and an empty label, <>, too


def shape_text(shape, dtype=None) -> str:
    """(None, 8) float32 -> '(None, 8) float32'; no shape known -> ''."""
    if shape is None:
        return "" if dtype is None else str(dtype)
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    if len(shape) == 1:
        inner += ","
    text = f"({inner})"
    return text if dtype is None else f"{text} {dtype}"


def short_number(x) -> str:
    """A number in at most about 6 significant characters: 0.5, -1.25e-05, 3."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    text = f"{x:.4g}"
    # A float that prints like an integer keeps its point (1.0, not 1), as Python shows it.
    return text if any(c in text for c in ".e") else text + ".0"


def value_text(value) -> str:
    """A short summary of a constant's value, as a label shows it: '0.5', '[1 2 3]', '(3, 4) array'."""
    a = np.asarray(value)
    if a.ndim == 0:
        return short_number(a.item())
    if a.size <= 4 and a.ndim == 1:
        return "[" + " ".join(short_number(v) for v in a.tolist()) + "]"
    return shape_text(a.shape) + " array"


def summary_text(value) -> str:
    """A value computed by a run, in one line: its shape and what is in it.

    Small arrays are shown whole; bigger ones as mean and range, with a count
    of NaN and Inf if there are any, since those are what a reader hunts for.
    """
    if value is None:
        return "no value (an update)"
    a = np.asarray(value)
    head = shape_text(a.shape)
    if a.dtype.kind not in "biuf" or a.size == 0:
        return f"{head} {a.dtype.name}"
    if a.size <= 4:
        flat = a.ravel().tolist()
        body = " ".join(short_number(v) for v in flat)
        return body if a.ndim == 0 else f"{head} [{body}]"
    if a.dtype.kind == "b":
        return f"{head} {int(a.sum())} true"
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    text = head
    if finite.size:
        lo, hi = finite.min(), finite.max()
        text += (
            f" mean {short_number(finite.mean())}, min {short_number(lo)}, max {short_number(hi)}"
        )
    bad = a.size - finite.size
    if bad:
        nan = int(np.isnan(a).sum())
        text += f", {nan} NaN, {bad - nan} Inf"
    return text
