"""Pure cap-table domain engine: ledger, validation, replay, vesting, conversions, OCF, fund metrics."""

from captable.errors import CapTableError, LedgerRejected, OcfPackageError
from captable.ledger import Ledger
from captable.problems import Problem
from captable.replay import CapTableState, ConvertibleRule, replay
from captable.validation import ensure_valid, validate

__all__ = [
    "CapTableError",
    "CapTableState",
    "ConvertibleRule",
    "Ledger",
    "LedgerRejected",
    "OcfPackageError",
    "Problem",
    "ensure_valid",
    "replay",
    "validate",
]
