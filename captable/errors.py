"""Exceptions raised by the cap-table engine.

Expected defects in a ledger or a package are *not* exceptions: validation returns every one of them as a
:class:`captable.problems.Problem`. Exceptions are kept for callers that need to stop::

    CapTableError                 base of everything raised by ``captable``
    ├── LedgerRejected            a ledger (or an imported package) has problems; carries all of them
    ├── OcfPackageError           a package cannot be read at all: no manifest, unreadable zip, bad JSON
    └── ScenarioError             a waterfall or pro-forma argument cannot be used; names the argument
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from captable.problems import Problem


class CapTableError(Exception):
    """Base class of the errors raised by the cap-table engine."""


class LedgerRejected(CapTableError):
    """A batch of objects and events failed validation; nothing may be written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0].message() if self.problems else "no problem given"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"ledger rejected: {first}{more}")


class OcfPackageError(CapTableError):
    """An OCF package is unreadable as a whole (as opposed to containing invalid items)."""


class ScenarioError(CapTableError, ValueError):
    """An exit or round scenario has an argument the calculation cannot use (``argument`` names it)."""

    def __init__(self, argument: str, reason: str) -> None:
        self.argument = argument
        self.reason = reason
        super().__init__(f"{argument}: {reason}")
