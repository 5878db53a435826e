"""Open Cap Format packages in and out of the acting startup's ledger.

The API takes JSON only (a CSRF defence: no multipart uploads), so a package travels base64-encoded; the CLI
passes a path instead and reaches the same functions. An import appends the package's items to the ledger
only when the package, each item and the resulting ledger have no problem at all; otherwise nothing is written.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from captable import OcfPackageError, Problem
from captable.ocf.importer import ImportResult, import_raw
from captable.ocf.limits import Limit, OcfLimitExceeded, PackageLimits
from captable.ocf.reader import RawPackage, read_package, read_zip
from captable.ocf.validation import normalize
from captable.ocf.writer import package_files
from db.queries import captable
from policies.principal import TenantKind
from resolvers.captable.captable import LedgerProblems, append_items, require_writer, today
from resolvers.captable.ledgers import ISSUER, PASSTHROUGH_FILES, ledger_from_rows
from resolvers.common.context import RequestContext
from resolvers.common.errors import InvalidInput

_PASSTHROUGH_FILE_TYPES = set(PASSTHROUGH_FILES.values())
# The setting behind each package limit, named in the error so an operator knows what to raise.
_SETTING: dict[Limit, str] = {
    "bytes": "ROUNDPOOL_MAX_ZIP_BYTES",
    "files": "ROUNDPOOL_MAX_ZIP_FILES",
    "depth": "ROUNDPOOL_MAX_JSON_DEPTH",
}


@dataclass(frozen=True)
class Imported:
    object_count: int
    warnings: tuple[Problem, ...]


def decode_package(package: str, max_bytes: int) -> bytes:
    """The archive's bytes; the base64 text is measured before it is decoded."""
    if len(package) > 4 * -(-max_bytes // 3):
        raise InvalidInput(f"package is larger than {max_bytes} bytes (ROUNDPOOL_MAX_UPLOAD_BYTES)", field="package")
    try:
        data = base64.b64decode(package, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput("package is not base64", field="package") from error
    if len(data) > max_bytes:
        raise InvalidInput(f"package is larger than {max_bytes} bytes (ROUNDPOOL_MAX_UPLOAD_BYTES)", field="package")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInput("package is not a zip archive (.ocf.zip)", field="package")
    return data


def read_zip_bytes(data: bytes, limits: PackageLimits) -> RawPackage:
    return readable(lambda: read_zip(data, limits))


def read_path(path: Path, limits: PackageLimits) -> RawPackage:
    return readable(lambda: read_package(path, limits))


def readable(read: Callable[[], RawPackage], format: str = "OCF") -> RawPackage:
    """Run a package reader (OCF or JOCF: the same limits), turning what makes it unreadable into InvalidInput."""
    try:
        return read()
    except OcfLimitExceeded as error:
        raise InvalidInput(f"{format} package refused: {error} ({_SETTING[error.limit]})", field="package") from error
    except OcfPackageError as error:
        raise InvalidInput(f"unreadable {format} package: {error}", field="package") from error
    except (OSError, zipfile.BadZipFile) as error:
        raise InvalidInput(f"unreadable {format} package: {error}", field="package") from error


def _prepared(raw: RawPackage) -> tuple[ImportResult, list[dict[str, Any]]]:
    result = import_raw(raw)
    if result.problems:
        return result, []
    upgraded = result.package or raw  # OCF 1.0.0 pre-release forms rewritten
    items = [dict(i.item) if i.file_type in _PASSTHROUGH_FILE_TYPES else normalize(i.item) for i in upgraded.items]
    return result, items


async def import_package(ctx: RequestContext, raw: RawPackage) -> Imported:
    """Validate the whole package with the engine (off the event loop), then append its items (all or nothing)."""
    require_writer(ctx)
    result, items = await asyncio.to_thread(_prepared, raw)
    if result.problems:
        raise LedgerProblems(result.problems)
    issuer = raw.manifest.get("issuer")
    issuer_item = {**issuer, "object_type": ISSUER} if isinstance(issuer, dict) and issuer.get("id") else None
    written = await append_items(ctx, items, issuer=issuer_item)
    return Imported(len(written.ids), tuple(result.warnings))


async def import_base64(ctx: RequestContext, package: str) -> Imported:
    require_writer(ctx)
    limits = ctx.limits

    def read() -> RawPackage:
        return read_zip_bytes(decode_package(package, limits.max_upload_bytes), limits.package)

    return await import_package(ctx, await asyncio.to_thread(read))


async def export_package(ctx: RequestContext) -> bytes:
    """The acting startup's ledger as an OCF 1.2 `.ocf.zip`."""
    acting = ctx.require_tenant(TenantKind.STARTUP)
    rows = await captable.ledger_rows(ctx.tx, acting.id)
    return await asyncio.to_thread(archive, package_files(ledger_from_rows(rows), today()))


def archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, content in files.items():
            out.writestr(name, content)
    return buffer.getvalue()
