"""Write a ledger as an OCF 1.2 package: a folder or an ``.ocf.zip``, with a manifest and real md5 sums."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from captable.ledger import Ledger
from captable.ocf.mapping import issuer_to_ocf, to_ocf

OCF_VERSION = "1.2.0"

# manifest key, file name, file_type
_FILES = (
    ("stakeholders_files", "Stakeholders.ocf.json", "OCF_STAKEHOLDERS_FILE"),
    ("stock_classes_files", "StockClasses.ocf.json", "OCF_STOCK_CLASSES_FILE"),
    ("stock_plans_files", "StockPlans.ocf.json", "OCF_STOCK_PLANS_FILE"),
    ("vesting_terms_files", "VestingTerms.ocf.json", "OCF_VESTING_TERMS_FILE"),
    ("valuations_files", "Valuations.ocf.json", "OCF_VALUATIONS_FILE"),
    ("financings_files", "Financings.ocf.json", "OCF_FINANCINGS_FILE"),
    ("transactions_files", "Transactions.ocf.json", "OCF_TRANSACTIONS_FILE"),
    ("stock_legend_templates_files", "StockLegends.ocf.json", "OCF_STOCK_LEGEND_TEMPLATES_FILE"),
    ("documents_files", "Documents.ocf.json", "OCF_DOCUMENTS_FILE"),
)


def package_files(ledger: Ledger, as_of: date | None = None) -> dict[str, bytes]:
    """File name → content of the package for ``ledger`` (the manifest included)."""
    groups: dict[str, list[Mapping[str, Any]]] = {
        "OCF_STAKEHOLDERS_FILE": [to_ocf(o) for o in ledger.stakeholders],
        "OCF_STOCK_CLASSES_FILE": [to_ocf(o) for o in ledger.stock_classes],
        "OCF_STOCK_PLANS_FILE": [to_ocf(o) for o in ledger.stock_plans],
        "OCF_VESTING_TERMS_FILE": [to_ocf(o) for o in ledger.vesting_terms],
        "OCF_VALUATIONS_FILE": [to_ocf(o) for o in ledger.valuations],
        "OCF_FINANCINGS_FILE": [to_ocf(o) for o in ledger.financings],
        "OCF_TRANSACTIONS_FILE": [to_ocf(e) for e in ledger.events],
    }
    for file_type, passthrough in ledger.passthrough.items():
        groups.setdefault(file_type, []).extend(passthrough)
    last = max((e.date for e in ledger.events), default=date.today())
    manifest: dict[str, Any] = {
        "ocf_version": OCF_VERSION,
        "file_type": "OCF_MANIFEST_FILE",
        "issuer": issuer_to_ocf(ledger.issuer),
        "as_of": (as_of or last).isoformat(),
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017
    }
    files: dict[str, bytes] = {}
    for key, name, file_type in _FILES:
        items = groups.get(file_type) or []
        manifest[key] = []
        if not items:
            continue
        content = _dump({"file_type": file_type, "items": items})
        files[name] = content
        manifest[key].append({"filepath": f"./{name}", "md5": hashlib.md5(content).hexdigest()})
    files["Manifest.ocf.json"] = _dump(manifest)
    return files


def write_package(ledger: Ledger, path: str | Path, as_of: date | None = None) -> Path:
    """Write to ``path``: a ``.zip`` name gives an archive, anything else a folder (created if needed)."""
    path = Path(path)
    files = package_files(ledger, as_of)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                archive.writestr(name, content)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (path / name).write_bytes(content)
    return path


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
