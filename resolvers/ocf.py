"""Open Cap Format packages in and out of the acting startup's ledger.

The API takes JSON only (a CSRF defence: no multipart uploads), so a package travels base64-encoded; the CLI
passes a path instead and reaches the same functions. An import appends the package's items to the ledger
only when the package, each item and the resulting ledger have no problem at all; otherwise nothing is written.
"""

from __future__ import annotations

import base64
import binascii
import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from captable import OcfPackageError, Problem
from captable.ocf.importer import import_raw
from captable.ocf.reader import RawPackage, read_package
from captable.ocf.validation import normalize
from captable.ocf.writer import package_files
from db.queries import captable
from policies.principal import TenantKind
from resolvers.captable import LedgerProblems, append_items, require_writer, today
from resolvers.context import RequestContext
from resolvers.errors import InvalidInput
from resolvers.ledgers import ISSUER, PASSTHROUGH_FILES, ledger_from_rows

MAX_PACKAGE_BYTES = 20 * 1024 * 1024
_PASSTHROUGH_FILE_TYPES = set(PASSTHROUGH_FILES.values())


@dataclass(frozen=True)
class Imported:
    object_count: int
    warnings: tuple[Problem, ...]


def decode_package(package: str) -> bytes:
    try:
        data = base64.b64decode(package, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput("package is not base64", field="package") from error
    if len(data) > MAX_PACKAGE_BYTES:
        raise InvalidInput(f"package is larger than {MAX_PACKAGE_BYTES} bytes", field="package")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInput("package is not a zip archive (.ocf.zip)", field="package")
    return data


def read_zip_bytes(data: bytes) -> RawPackage:
    with tempfile.TemporaryDirectory(prefix="ocf-") as folder:
        path = Path(folder) / "package.ocf.zip"
        path.write_bytes(data)
        return read_path(path)


def read_path(path: Path) -> RawPackage:
    try:
        return read_package(path)
    except OcfPackageError as error:
        raise InvalidInput(f"unreadable OCF package: {error}", field="package") from error
    except (OSError, zipfile.BadZipFile) as error:
        raise InvalidInput(f"unreadable OCF package: {error}", field="package") from error


async def import_package(ctx: RequestContext, raw: RawPackage) -> Imported:
    """Validate the whole package with the engine, then append its items (all or nothing)."""
    require_writer(ctx)
    result = import_raw(raw)
    if result.problems:
        raise LedgerProblems(result.problems)
    items: list[dict[str, Any]] = []
    for raw_item in raw.items:
        items.append(dict(raw_item.item) if raw_item.file_type in _PASSTHROUGH_FILE_TYPES else normalize(raw_item.item))
    issuer = raw.manifest.get("issuer")
    issuer_item = {**issuer, "object_type": ISSUER} if isinstance(issuer, dict) and issuer.get("id") else None
    written = await append_items(ctx, items, issuer=issuer_item)
    return Imported(len(written.ids), tuple(result.warnings))


async def import_base64(ctx: RequestContext, package: str) -> Imported:
    require_writer(ctx)
    return await import_package(ctx, read_zip_bytes(decode_package(package)))


async def export_package(ctx: RequestContext) -> bytes:
    """The acting startup's ledger as an OCF 1.2 `.ocf.zip`."""
    acting = ctx.require_tenant(TenantKind.STARTUP)
    rows = await captable.ledger_rows(ctx.tx, acting.id)
    files = package_files(ledger_from_rows(rows), today())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()
