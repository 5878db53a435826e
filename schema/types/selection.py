"""Whether a query asked for a field, so a root resolver can skip a batched load nobody selected."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from strawberry.types import Info


def selects(info: Info[Any, Any], name: str) -> bool:
    """True if `name` is selected directly under the current field (through fragments too)."""
    return any(_selects(field.selections, name) for field in info.selected_fields)


def _selects(selections: Iterable[Any], name: str) -> bool:
    for selection in selections:
        if getattr(selection, "name", None) == name:
            return True
        is_fragment = not hasattr(selection, "name") or getattr(selection, "type_condition", None) is not None
        if is_fragment and _selects(getattr(selection, "selections", ()), name):
            return True
    return False
