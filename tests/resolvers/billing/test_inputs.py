"""Billing input becomes the engine's own enums at the resolver boundary, without a database."""

from __future__ import annotations

import pytest

from cost.billing.money import Rounding
from cost.billing.plans import ItemKind
from resolvers.billing.inputs import engine_enum
from resolvers.common.errors import InvalidInput


def test_a_known_value_becomes_the_engine_member() -> None:
    assert engine_enum(Rounding, "ROUND_HALF_EVEN", "rounding") is Rounding.HALF_EVEN
    assert engine_enum(ItemKind, "CREDIT", "kind") is ItemKind.CREDIT


@pytest.mark.parametrize("value", ["HALF_UP", "round_half_up", "", "ROUND_DOWN"])
def test_another_value_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidInput, match="is not one of ROUND_HALF_UP, ROUND_HALF_EVEN") as raised:
        engine_enum(Rounding, value, "rounding")
    assert raised.value.field == "rounding"
