"""The JOCF samples of ../shared/data/jocf (read in place, never copied), and their upstream defects repaired
the way a founder would repair them through `fixStagedItem`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JOCF = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "jocf"
SAMPLES = JOCF / "samples"
SCHEMA = JOCF / "schema"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def repaired_item(item: dict[str, Any]) -> dict[str, Any]:
    """The samples' recurring defects: a holder name as a string, security_holder_id for securityholder_id,
    ammount / cuurency_code for amount / currency, an address as an object."""
    out = json.loads(json.dumps(item))
    if isinstance(out.get("name"), str) and out.get("object_type") == "SECURITY_HOLDER":
        out["name"] = {"legal_name": out["name"]}
    if isinstance(out.get("address"), dict):
        out["address"] = " ".join(str(v) for v in out["address"].values())
    if "security_holder_id" in out:
        out["securityholder_id"] = out.pop("security_holder_id")
    for key, value in list(out.items()):
        if isinstance(value, dict) and ("ammount" in value or "cuurency_code" in value):
            out[key] = {"amount": value["ammount"], "currency": value["cuurency_code"]}
    out.pop("mandatory_redemption_attributes", None)
    return out


def write_repaired(source: Path, target: Path, extra: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """Copy `source`'s files repaired into `target` (a test's tmp folder), adding `extra` items by file_type."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.json")):
        data = load(path)
        data["items"] = [repaired_item(i) for i in data["items"]]
        data["items"] += (extra or {}).pop(data["file_type"], [])
        (target / path.name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for file_type, items in (extra or {}).items():
        (target / f"{file_type}.json").write_text(json.dumps({"file_type": file_type, "items": items}))
    return target


COMMON = {
    "object_type": "STOCK_CLASS",
    "id": "test-stock-class-common",
    "name": "普通株式",
    "class_type": "COMMON",
    "votes_per_share": "1",
    "initial_shares_authorized": "10000",
}
