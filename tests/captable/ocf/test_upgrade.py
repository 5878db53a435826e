"""OCF 1.0.0 beta forms are upgraded with a report of every change, and problems are reported by root cause."""

from __future__ import annotations

import json
from typing import Any

from captable.ocf.importer import import_raw
from captable.ocf.reader import RawItem, RawPackage, read_zip
from tests.plugins import ocf_beta_package

DEPENDS_ON_SEED = "depends on stock class 'seed', which is in the package but was rejected (see its problems)"


def _report(changes: Any) -> list[tuple[str, str, Any, Any]]:
    return [(c.object_id, c.field, c.before, c.after) for c in changes]


def test_each_beta_form_is_upgraded_with_its_change_report() -> None:
    result = import_raw(read_zip(ocf_beta_package.zipped()))

    assert result.version == (1, 0, 0)
    ratio_one = {"numerator": "1", "denominator": "1"}
    assert _report(result.changes) == [
        ("common", "current_shares_authorized", "10000000", None),
        ("common", "initial_shares_authorized", None, "10000000"),
        ("seed", "votes_per_share", {"omitted": True}, None),
        ("seed", "current_shares_authorized", "3000000", None),
        ("seed", "initial_shares_authorized", None, "3000000"),
        ("seed", "conversion_rights[0].conversion_mechanism.ratio", "1", ratio_one),
        ("seed", "conversion_rights[0].conversion_mechanism.rounding_type", None, "NORMAL"),
        (
            "seed",
            "conversion_rights[0].conversion_mechanism.conversion_price",
            None,
            {"amount": "1.00", "currency": "USD"},
        ),
        ("val-2022", "stock_class_id", None, "common"),
        ("i-founder", "cost_basis", {"omitted": True}, None),
        ("adj-seed", "new_ratio_conversion_mechanism.ratio", "1.25", {"numerator": "1.25", "denominator": "1"}),
        ("adj-seed", "new_ratio_conversion_mechanism.rounding_type", None, "NORMAL"),
        ("adj-seed", "new_ratio_conversion_mechanism.conversion_price", None, {"amount": "0.8", "currency": "USD"}),
        (
            "i-safe",
            "conversion_triggers[0]",
            {"type": "UNSPECIFIED", "trigger_description": "next equity financing", "converts_to_future_round": True},
            {
                "type": "UNSPECIFIED",
                "trigger_id": "safe-1.TRIG.1",
                "conversion_right": {
                    "type": "CONVERTIBLE_CONVERSION_RIGHT",
                    "conversion_mechanism": {
                        "type": "CUSTOM_CONVERSION",
                        "custom_conversion_description": "next equity financing",
                    },
                    "converts_to_future_round": True,
                },
                "trigger_description": "next equity financing",
            },
        ),
    ]
    # Only the required votes_per_share asks for a value; the optional cost_basis stays an explicit unknown.
    assert [(c.object_id, c.field) for c in result.changes if c.needs_value] == [("seed", "votes_per_share")]
    founder = next(i.item for i in result.package.items if i.item.get("id") == "i-founder")
    assert "cost_basis" not in founder


def test_problems_are_reported_by_root_cause_never_as_missing() -> None:
    result = import_raw(read_zip(ocf_beta_package.zipped()))

    assert {(p.object_id, p.field, p.reason) for p in result.problems} == {
        (
            "seed",
            "votes_per_share",
            "needs a value: omitted in the source; the current schema requires it: supply the value",
        ),
        ("i-bad", "quantity", "'1,000' is not a numeric string"),
        *{(i, "stock_class_id", DEPENDS_ON_SEED) for i in ("i-seed-1", "i-seed-2", "i-seed-3", "adj-seed")},
        ("t-early", "date", "dated 2021-01-15, before security 'cs-angel' is issued on 2021-02-01"),
        (
            "t-bad",
            "security_id",
            "depends on security 'cs-bad', whose issuance 'i-bad' was rejected (see its problems)",
        ),
    }
    assert not [p for p in result.problems if p.reason.endswith("does not exist")]
    assert [(g.summary(), g.dependant_ids) for g in result.groups] == [
        ("4 transactions depend on rejected stock class 'seed'", ("i-seed-1", "i-seed-2", "i-seed-3", "adj-seed")),
        ("1 transaction depends on rejected issuance 'i-bad'", ("t-bad",)),
        ("transaction 't-early': 1 problem", ()),
    ]
    grouped = [p for g in result.groups for p in (*g.causes, *g.dependants)]
    assert sorted(grouped) == sorted(result.problems)  # every problem in exactly one group


def test_supplying_the_asked_value_makes_the_dependants_valid() -> None:
    raw = read_zip(ocf_beta_package.zipped())
    fixed = []
    for raw_item in raw.items:
        item = json.loads(json.dumps(raw_item.item))
        if item["id"] == "seed":
            item["votes_per_share"] = "1"
        fixed.append(RawItem(raw_item.file_type, raw_item.filepath, item))
    result = import_raw(RawPackage(raw.manifest, raw.version, tuple(fixed), raw.problems, raw.warnings, raw.files))

    assert {p.object_id for p in result.problems} == {"i-bad", "t-bad", "t-early"}


def test_a_current_package_is_not_upgraded() -> None:
    raw = read_zip(ocf_beta_package.zipped())
    current = RawPackage({**raw.manifest, "ocf_version": "1.2.0"}, (1, 2, 0), raw.items, raw.problems, raw.warnings)
    result = import_raw(current)

    assert result.changes == ()
    # 1.2 has no placeholders and no current_shares_authorized: they are plain defects there
    assert ("seed", "votes_per_share") in {(p.object_id, p.field) for p in result.problems}
    assert ("common", "initial_shares_authorized") in {(p.object_id, p.field) for p in result.problems}
