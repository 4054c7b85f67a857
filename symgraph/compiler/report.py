"""What a compiler pass changed, in words a student can read.

Every pass returns a new IR and a Report. The Report names the vertices the
pass removed, added, merged or replaced, each with the rule that did it, so
the explorer can highlight them and a reader can trace every user Node.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Change:
    kind: str  # "removed", "added", "merged", "replaced"
    key: object  # the IR vertex concerned
    name: str  # its node name, for people
    rule: str  # why: the rule's name
    into: object = None  # for merged/replaced: the vertex that now stands for it


@dataclass
class Report:
    pass_name: str
    changes: list[Change] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, kind, key, name, rule, into=None) -> None:
        self.changes.append(Change(kind, key, name, rule, into))

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def __str__(self):
        if not self.changes:
            return f"{self.pass_name}: no change"
        lines = [f"{self.pass_name}: {len(self.changes)} change(s)"]
        for c in self.changes:
            into = f" -> {c.into}" if c.into is not None else ""
            lines.append(f"  {c.kind:8} {c.name}{into}  ({c.rule})")
        return "\n".join(lines)
