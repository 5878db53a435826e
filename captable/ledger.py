"""A company's ledger: its objects and immutable events, with look-ups by id (validation: captable.validation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from captable.events import (
    Event,
    Financing,
    Issuance,
    Issuer,
    Stakeholder,
    StockClass,
    StockPlan,
    Valuation,
    VestingTerms,
)


@dataclass(frozen=True)
class Ledger:
    issuer: Issuer
    stakeholders: tuple[Stakeholder, ...] = ()
    stock_classes: tuple[StockClass, ...] = ()
    stock_plans: tuple[StockPlan, ...] = ()
    vesting_terms: tuple[VestingTerms, ...] = ()
    valuations: tuple[Valuation, ...] = ()
    financings: tuple[Financing, ...] = ()
    events: tuple[Event, ...] = ()
    # OCF items the engine does not model (legends, documents), kept by file type for export.
    passthrough: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict, compare=False)

    @cached_property
    def stakeholder_by_id(self) -> dict[str, Stakeholder]:
        return {s.id: s for s in self.stakeholders}

    @cached_property
    def stock_class_by_id(self) -> dict[str, StockClass]:
        return {c.id: c for c in self.stock_classes}

    @cached_property
    def stock_plan_by_id(self) -> dict[str, StockPlan]:
        return {p.id: p for p in self.stock_plans}

    @cached_property
    def vesting_terms_by_id(self) -> dict[str, VestingTerms]:
        return {v.id: v for v in self.vesting_terms}

    @cached_property
    def issuance_by_security_id(self) -> dict[str, Issuance]:
        """The first issuance of each security (duplicates are a validation problem)."""
        found: dict[str, Issuance] = {}
        for event in self.events:
            if isinstance(event, Issuance):
                found.setdefault(event.security_id, event)
        return found
