"""An OCF 1.0.0-b1 package that shows each older form a vendor's beta export uses, with two real defects.

Built here (the vendor export named in issue 14 is not public): `{"omitted": true}` placeholders for `cost_basis`
(optional now) and `votes_per_share` (required now), `current_shares_authorized`, a numeric `RATIO_CONVERSION`
ratio without `conversion_price`/`rounding_type` (on a class and on a ratio adjustment), a flat UNSPECIFIED
trigger, a valuation without `stock_class_id`. Real defects: an issuance whose quantity is no number (its
transfer depends on it) and a transfer dated before its security is issued.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

USD = "USD"
OMITTED = {"omitted": True}


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": USD}


def _issue(eid: str, sid: str, holder: str, cls: str, qty: Any, when: str, **extra: Any) -> dict[str, Any]:
    return {
        "object_type": "TX_STOCK_ISSUANCE",
        "id": eid,
        "date": when,
        "security_id": sid,
        "custom_id": sid,
        "stakeholder_id": holder,
        "security_law_exemptions": [],
        "stock_class_id": cls,
        "share_price": _money("1.00" if cls == "seed" else "0.001"),
        "quantity": qty,
        "stock_legend_ids": [],
        **extra,
    }


def _transfer(eid: str, sid: str, qty: str, when: str, resulting: list[str]) -> dict[str, Any]:
    return {
        "object_type": "TX_STOCK_TRANSFER",
        "id": eid,
        "date": when,
        "security_id": sid,
        "quantity": qty,
        "resulting_security_ids": resulting,
    }


def stock_classes() -> list[dict[str, Any]]:
    return [
        {
            "object_type": "STOCK_CLASS",
            "id": "common",
            "name": "Common",
            "class_type": "COMMON",
            "default_id_prefix": "CS-",
            "current_shares_authorized": "10000000",
            "votes_per_share": "1",
            "seniority": "1",
        },
        {
            "object_type": "STOCK_CLASS",
            "id": "seed",
            "name": "Series Seed Preferred",
            "class_type": "PREFERRED",
            "default_id_prefix": "PS-",
            "current_shares_authorized": "3000000",
            "votes_per_share": OMITTED,
            "seniority": "2",
            "price_per_share": _money("1.00"),
            "conversion_rights": [
                {
                    "conversion_mechanism": {"type": "RATIO_CONVERSION", "ratio": "1"},
                    "converts_to_stock_class_id": "common",
                }
            ],
        },
    ]


def transactions() -> list[dict[str, Any]]:
    return [
        _issue("i-founder", "cs-founder", "founder", "common", "6000000", "2021-01-04", cost_basis=OMITTED),
        _issue("i-angel", "cs-angel", "angel", "common", "250000", "2021-02-01"),
        _transfer("t-early", "cs-angel", "50000", "2021-01-15", ["cs-angel-2"]),
        _issue("i-angel-2", "cs-angel-2", "founder", "common", "50000", "2021-01-15"),
        _issue("i-bad", "cs-bad", "angel", "common", "1,000", "2021-03-01"),
        _transfer("t-bad", "cs-bad", "100", "2021-04-01", ["cs-angel-3"]),
        _issue("i-angel-3", "cs-angel-3", "founder", "common", "100", "2021-04-01"),
        _issue("i-seed-1", "ps-1", "fund", "seed", "1000000", "2022-05-01"),
        _issue("i-seed-2", "ps-2", "fund", "seed", "500000", "2022-05-01"),
        _issue("i-seed-3", "ps-3", "angel", "seed", "100000", "2022-05-01"),
        {
            "object_type": "TX_STOCK_CLASS_CONVERSION_RATIO_ADJUSTMENT",
            "id": "adj-seed",
            "date": "2023-01-01",
            "stock_class_id": "seed",
            "new_ratio_conversion_mechanism": {"type": "RATIO_CONVERSION", "ratio": "1.25"},
        },
        {
            "object_type": "TX_CONVERTIBLE_ISSUANCE",
            "id": "i-safe",
            "date": "2021-06-01",
            "security_id": "safe-1",
            "custom_id": "SAFE-1",
            "stakeholder_id": "angel",
            "security_law_exemptions": [],
            "convertible_type": "SAFE",
            "investment_amount": _money("100000"),
            "seniority": 1,
            "conversion_triggers": [
                {
                    "type": "UNSPECIFIED",
                    "trigger_description": "next equity financing",
                    "converts_to_future_round": True,
                }
            ],
        },
    ]


def files() -> dict[str, dict[str, Any]]:
    stakeholders = [
        {"object_type": "STAKEHOLDER", "id": sid, "name": {"legal_name": name}, "stakeholder_type": kind}
        for sid, name, kind in (
            ("founder", "Hana Founder", "INDIVIDUAL"),
            ("angel", "Kei Angel", "INDIVIDUAL"),
            ("fund", "Seed Fund I", "INSTITUTION"),
        )
    ]
    valuations = [
        {
            "object_type": "VALUATION",
            "id": "val-2022",
            "effective_date": "2022-01-01",
            "price_per_share": _money("0.25"),
            "valuation_type": "409A",
        }
    ]
    manifest = {
        "ocf_version": "1.0.0-b1",
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": {"object_type": "ISSUER", "id": "beta-co", "legal_name": "Beta Co K.K."},
        "as_of": "2023-01-01",
        "stakeholders_files": [{"filepath": "Stakeholders.ocf.json", "md5": "0" * 32}],
        "stock_classes_files": [{"filepath": "StockClasses.ocf.json", "md5": "0" * 32}],
        "valuations_files": [{"filepath": "Valuations.ocf.json", "md5": "0" * 32}],
        "transactions_files": [{"filepath": "Transactions.ocf.json", "md5": "0" * 32}],
    }
    return {
        "Manifest.ocf.json": manifest,
        "Stakeholders.ocf.json": {"file_type": "OCF_STAKEHOLDERS_FILE", "items": stakeholders},
        "StockClasses.ocf.json": {"file_type": "OCF_STOCK_CLASSES_FILE", "items": stock_classes()},
        "Valuations.ocf.json": {"file_type": "OCF_VALUATIONS_FILE", "items": valuations},
        "Transactions.ocf.json": {"file_type": "OCF_TRANSACTIONS_FILE", "items": transactions()},
    }


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files().items():
            archive.writestr(name, json.dumps(content))
    return buffer.getvalue()
