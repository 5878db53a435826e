"""Problems by root cause: what follows from an item that was rejected is reported under that item.

When an item of a package fails item validation it is left out of the ledger, and every object referring to it
would then read "stock class 'X' does not exist", though X is in the package. :func:`by_cause` rewrites those
problems to name the rejected item ("depends on stock class 'X', which was rejected") and groups them under it,
so a founder fixes one root and sees its dependants resolve.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from captable.problems import Problem

# "<what> '<ref>' does not exist", as written by captable.ledger and captable.replay (repr quoting)
_MISSING = re.compile(
    r"^(stakeholder|stock class|stock plan|vesting terms|issuance|security) (['\"])(.*)\2 does not exist$"
)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item of the package that item validation rejected (so the ledger lacks it)."""

    object_id: str
    object_type: str
    security_id: str | None = None  # for issuances: the security they would have created


@dataclass(frozen=True, slots=True)
class ProblemGroup:
    root_id: str
    root_type: str
    causes: tuple[Problem, ...]  # the root's own problems
    dependants: tuple[Problem, ...]  # other objects' problems that only follow from the root's rejection

    @property
    def dependant_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.object_id for p in self.dependants))

    def summary(self) -> str:
        what = describe(self.root_type)
        if not self.dependants:
            count = len(self.causes)
            return f"{what} {self.root_id!r}: {count} problem{'s' if count != 1 else ''}"
        ids = self.dependant_ids
        events = all(p.object_type.startswith(("TX_", "CE_")) for p in self.dependants)
        noun = ("transaction" if events else "object") + ("s" if len(ids) != 1 else "")
        verb = "depends" if len(ids) == 1 else "depend"
        state = "rejected " if self.causes else ""
        return f"{len(ids)} {noun} {verb} on {state}{what} {self.root_id!r}"


_WHAT = {
    "STAKEHOLDER": "stakeholder",
    "STOCK_CLASS": "stock class",
    "STOCK_PLAN": "stock plan",
    "VESTING_TERMS": "vesting terms",
    "VALUATION": "valuation",
    "FINANCING": "financing",
}


def describe(object_type: str) -> str:
    """What a founder calls an object of `object_type`: "stock class", "issuance", "transaction"…"""
    if object_type in _WHAT:
        return _WHAT[object_type]
    if object_type.endswith("_ISSUANCE"):
        return "issuance"
    if object_type.startswith(("TX_", "CE_")):
        return "transaction"
    return object_type.lower().replace("_", " ")


def by_cause(
    problems: Sequence[Problem], rejected: Iterable[Rejected]
) -> tuple[tuple[Problem, ...], tuple[ProblemGroup, ...]]:
    """The problems with references to rejected items rewritten, and every problem in exactly one group."""
    roots: dict[tuple[str, str], Rejected] = {}
    for item in rejected:
        roots[(_what_of(item.object_type), item.object_id)] = item
        if item.security_id is not None:
            roots[("security", item.security_id)] = item
            roots.setdefault(("issuance", item.object_id), item)
    flat: list[Problem] = []
    causes: dict[str, list[Problem]] = {}
    dependants: dict[str, list[Problem]] = {}
    kinds: dict[str, str] = {}
    for problem in problems:
        root = _root_of(problem, roots)
        if root is None:
            flat.append(problem)
            causes.setdefault(problem.object_id, []).append(problem)
            kinds.setdefault(problem.object_id, problem.object_type)
            continue
        rewritten = Problem(problem.object_id, problem.object_type, problem.field, _depends(problem, root))
        flat.append(rewritten)
        dependants.setdefault(root.object_id, []).append(rewritten)
        kinds.setdefault(root.object_id, root.object_type)
    groups = tuple(
        ProblemGroup(root_id, kinds[root_id], tuple(causes.get(root_id, ())), tuple(dependants.get(root_id, ())))
        for root_id in dict.fromkeys([*causes, *dependants])
    )
    return tuple(dict.fromkeys(flat)), groups


def _root_of(problem: Problem, roots: Mapping[tuple[str, str], Rejected]) -> Rejected | None:
    match = _MISSING.match(problem.reason)
    if match is None:
        return None
    return roots.get((match.group(1), match.group(3)))


def _depends(problem: Problem, root: Rejected) -> str:
    match = _MISSING.match(problem.reason)
    assert match is not None
    what, ref = match.group(1), match.group(3)
    if what == "security" and root.security_id == ref:
        return f"depends on security {ref!r}, whose issuance {root.object_id!r} was rejected (see its problems)"
    return f"depends on {what} {ref!r}, which is in the package but was rejected (see its problems)"


def _what_of(object_type: str) -> str:
    if object_type.endswith("_ISSUANCE"):
        return "issuance"
    return _WHAT.get(object_type, object_type)
