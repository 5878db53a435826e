"""Upgrade the forms of OCF 1.0.0 pre-releases (alphas, betas such as ``1.0.0-b1``) to the current schema.

Each rewrite is reported as a :class:`Change` (object, field, from → to, why), so a founder sees what the
importer did to the vendor's export. A value the source left out stays out where the current schema makes it
optional (an explicit unknown); where the current schema requires it, the change says so and item validation
then asks for it. Recognised forms:

- ``{"omitted": true}`` placeholders (``cost_basis``, ``votes_per_share``, …);
- ``current_shares_authorized`` / ``current_shares_reserved`` instead of ``initial_shares_*``;
- ``RATIO_CONVERSION`` mechanisms with a numeric ``ratio`` and no ``conversion_price`` / ``rounding_type``;
- conversion triggers of type ``UNSPECIFIED`` in the flat beta shape (no ``trigger_id``, no ``conversion_right``:
  the conversion terms sit on the trigger itself);
- valuations without ``stock_class_id`` (the beta priced "the common stock").
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from captable.ocf.reader import RawItem, RawPackage
from captable.ocf.validation import NUMERIC, normalize, required_fields

CURRENT = (1, 1)  # versions below this are 1.0.x, whose pre-releases used the forms above


@dataclass(frozen=True, slots=True)
class Change:
    object_id: str
    object_type: str
    field: str
    before: Any  # JSON value in the source; None when the field was absent
    after: Any  # JSON value now; None when the field is left out
    reason: str
    needs_value: bool = False  # the current schema requires a value the source does not give: ask for it


@dataclass(frozen=True)
class Upgraded:
    package: RawPackage
    changes: tuple[Change, ...]


def needs_upgrade(version: tuple[int, int, int]) -> bool:
    return version[:2] < CURRENT


def upgrade(raw: RawPackage) -> Upgraded:
    """The package with 1.0.0 pre-release forms rewritten; packages of 1.1 and later are returned unchanged."""
    if not needs_upgrade(raw.version):
        return Upgraded(raw, ())
    items = [normalize(copy.deepcopy(dict(i.item))) for i in raw.items]
    commons = [i.get("id") for i in items if i.get("object_type") == "STOCK_CLASS" and i.get("class_type") == "COMMON"]
    prices = {i.get("id"): i.get("price_per_share") for i in items if i.get("object_type") == "STOCK_CLASS"}
    changes: list[Change] = []
    upgraded: list[RawItem] = []
    for raw_item, item in zip(raw.items, items, strict=True):
        rewriter = _Rewriter(item, changes)
        rewriter.omitted()
        rewriter.renamed()
        rewriter.ratio_mechanisms(prices)
        rewriter.triggers()
        rewriter.valuation_class(commons)
        upgraded.append(replace(raw_item, item=rewriter.item) if rewriter.changed else raw_item)
    return Upgraded(replace(raw, items=tuple(upgraded)), tuple(changes))


_RENAMES = {
    "STOCK_CLASS": ("current_shares_authorized", "initial_shares_authorized"),
    "STOCK_PLAN": ("current_shares_reserved", "initial_shares_reserved"),
}


class _Rewriter:
    def __init__(self, item: dict[str, Any], changes: list[Change]) -> None:
        self.item = item
        self.changes = changes
        self.changed = False
        self.id = str(item.get("id", "?"))
        self.kind = str(item.get("object_type", "?"))

    def _record(self, field: str, before: Any, after: Any, reason: str, needs_value: bool = False) -> None:
        self.changed = True
        self.changes.append(Change(self.id, self.kind, field, before, after, reason, needs_value))

    def omitted(self) -> None:
        required = required_fields(self.kind)
        for key, value in list(self.item.items()):
            if isinstance(value, Mapping) and value.get("omitted") is True:
                del self.item[key]
                if key in required:
                    reason = "omitted in the source; the current schema requires it: supply the value"
                else:
                    reason = "omitted in the source; left out as an explicit unknown (the field is optional)"
                self._record(key, dict(value), None, reason, needs_value=key in required)

    def renamed(self) -> None:
        rename = _RENAMES.get(self.kind)
        if rename is None:
            return
        old, new = rename
        if old not in self.item or new in self.item:
            return
        value = self.item.pop(old)
        self.item[new] = value
        self._record(old, value, None, f"renamed to {new} in OCF 1.0.0")
        self._record(new, None, value, f"taken from {old} (the OCF 1.0.0 name)")

    def ratio_mechanisms(self, prices: Mapping[Any, Any]) -> None:
        if self.kind == "STOCK_CLASS":
            rights = self.item.get("conversion_rights")
            if isinstance(rights, list):
                for n, right in enumerate(rights):
                    mechanism = right.get("conversion_mechanism") if isinstance(right, Mapping) else None
                    if isinstance(mechanism, dict):
                        where = f"conversion_rights[{n}].conversion_mechanism"
                        self._ratio(mechanism, where, prices.get(self.id))
        elif self.kind == "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT":
            mechanism = self.item.get("new_ratio_conversion_mechanism")
            if isinstance(mechanism, dict):
                self._ratio(mechanism, "new_ratio_conversion_mechanism", prices.get(self.item.get("stock_class_id")))

    def _ratio(self, mechanism: dict[str, Any], where: str, price: Any) -> None:
        if mechanism.get("type") != "RATIO_CONVERSION":
            return
        ratio = mechanism.get("ratio")
        value = _decimal(ratio)
        if value is None:
            return  # already {numerator, denominator}, or not a number (item validation reports it)
        mechanism["ratio"] = {"numerator": str(ratio), "denominator": "1"}
        self._record(f"{where}.ratio", ratio, mechanism["ratio"], "a numeric ratio is written numerator/denominator")
        if "rounding_type" not in mechanism:
            mechanism["rounding_type"] = "NORMAL"
            self._record(
                f"{where}.rounding_type",
                None,
                "NORMAL",
                "absent in the source; the current schema requires it: NORMAL assumed (check the class's terms)",
            )
        if "conversion_price" not in mechanism:
            per_share = _decimal(price.get("amount")) if isinstance(price, Mapping) else None
            if per_share is not None and value > 0:
                derived = {"amount": str(per_share / value), "currency": price.get("currency")}
                mechanism["conversion_price"] = derived
                self._record(
                    f"{where}.conversion_price",
                    None,
                    derived,
                    "absent in the source; derived as the class's price per share divided by the ratio",
                )
            else:
                self._record(
                    f"{where}.conversion_price",
                    None,
                    None,
                    "absent in the source and not derivable (the class has no price per share); supply it",
                    needs_value=True,
                )

    def triggers(self) -> None:
        for key in ("conversion_triggers", "exercise_triggers"):
            triggers = self.item.get(key)
            if not isinstance(triggers, list):
                continue
            for n, trigger in enumerate(triggers):
                if isinstance(trigger, dict) and _flat_unspecified(trigger):
                    before = dict(trigger)
                    triggers[n] = self._nested(trigger, key, n)
                    self._record(
                        f"{key}[{n}]",
                        before,
                        triggers[n],
                        "the OCF 1.0 beta's flat UNSPECIFIED trigger, nested as trigger_id + conversion_right",
                    )

    def _nested(self, trigger: Mapping[str, Any], key: str, n: int) -> dict[str, Any]:
        right_type = "WARRANT_CONVERSION_RIGHT" if key == "exercise_triggers" else "CONVERTIBLE_CONVERSION_RIGHT"
        description = trigger.get("trigger_description") or trigger.get("description")
        right: dict[str, Any] = {
            "type": right_type,
            "conversion_mechanism": {
                "type": "CUSTOM_CONVERSION",
                "custom_conversion_description": description or "unspecified in the source (OCF 1.0 beta)",
            },
        }
        for field in ("converts_to_future_round", "converts_to_stock_class_id"):
            if field in trigger:
                right[field] = trigger[field]
        if "converts_to_future_round" not in right and "converts_to_stock_class_id" not in right:
            right["converts_to_future_round"] = True
        security = self.item.get("security_id", self.id)
        out: dict[str, Any] = {
            "type": "UNSPECIFIED",
            "trigger_id": trigger.get("trigger_id") or f"{security}.TRIG.{n + 1}",
            "conversion_right": right,
        }
        for field in ("nickname", "trigger_description"):
            if field in trigger:
                out[field] = trigger[field]
        return out

    def valuation_class(self, commons: Sequence[Any]) -> None:
        if self.kind != "VALUATION" or self.item.get("stock_class_id") is not None:
            return
        if len(commons) == 1 and isinstance(commons[0], str):
            self.item["stock_class_id"] = commons[0]
            self._record(
                "stock_class_id",
                None,
                commons[0],
                "absent in the source (OCF 1.0 beta valued the common stock); the package's only common class",
            )
        else:
            self._record(
                "stock_class_id",
                None,
                None,
                f"absent in the source and the package has {len(commons)} common classes; name the class valued",
                needs_value=True,
            )


def _flat_unspecified(trigger: Mapping[str, Any]) -> bool:
    kind = trigger.get("type", trigger.get("trigger_type"))
    return kind == "UNSPECIFIED" and "conversion_right" not in trigger


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    text = str(value)
    if not NUMERIC.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
