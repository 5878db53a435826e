"""Staged cap-table imports: a package (OCF or JOCF) kept as a draft the founder inspects, fixes item by item and
commits. Nothing reaches the ledger before `commit`, which appends through the same path as every ledger write
(`append_items`: the ledger lock, validation of the whole ledger, all or nothing).

Problems are recomputed on every read against the ledger as it is then, so they are never stale.
OCF drafts hold the package already upgraded from 1.0.0 pre-release forms (the change report is kept with the
draft); JOCF drafts hold the JOCF items, validated against the JOCF JSON Schema and mapped at each check.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from captable import ConvertibleRule, Ledger, Problem, replay
from captable.causes import ProblemGroup
from captable.jocf.importer import import_jocf, ocf_file_of
from captable.jocf.reader import read_jocf_zip
from captable.jocf.schema import JocfSchema, load_schema
from captable.ocf.importer import import_raw
from captable.ocf.reader import RawItem, RawPackage
from captable.ocf.upgrade import Change, upgrade
from captable.ocf.validation import normalize
from db.captable_records import LedgerRow
from db.errors import ConstraintViolation, PolicyViolation
from db.queries import captable
from db.queries import staged_imports as queries
from db.queries.staged_imports import DraftItem, DraftRecord, NewDraftItem
from resolvers.captable.captable import CapTableView, LedgerProblems, append_items, require_writer, today
from resolvers.captable.ledgers import ISSUER, PASSTHROUGH_FILES
from resolvers.captable.ocf import Imported, decode_package, read_zip_bytes, readable
from resolvers.common.context import RequestContext
from resolvers.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from resolvers.global_ids import encode_global_id, quoting_global_id

FORMATS = ("OCF", "JOCF")
_PASSTHROUGH_FILE_TYPES = {*PASSTHROUGH_FILES.values(), "JOCF_SECURITYHOLDERS_AGREEMENT_FILE"}


@dataclass(frozen=True)
class DraftCheck:
    problems: tuple[Problem, ...]
    groups: tuple[ProblemGroup, ...]
    ledger: Ledger
    to_write: tuple[dict[str, Any], ...]  # the OCF items a commit appends
    schema_checked: bool | None  # JOCF: validated against the JSON Schema (None for OCF)
    errata: tuple[str, ...]


@dataclass(frozen=True)
class StagedView:
    draft: DraftRecord
    items: tuple[DraftItem, ...]
    check: DraftCheck
    preview: CapTableView
    warnings: tuple[Problem, ...]


async def stage(ctx: RequestContext, package: str, format: str) -> StagedView:
    acting = require_writer(ctx)
    if format not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", field="format")
    limits = ctx.limits

    def read() -> tuple[RawPackage, tuple[Change, ...]]:
        data = decode_package(package, limits.max_upload_bytes)
        if format == "JOCF":
            return readable(lambda: read_jocf_zip(data, limits.package), "JOCF"), ()
        upgraded = upgrade(read_zip_bytes(data, limits.package))
        return upgraded.package, upgraded.changes

    raw, changes = await asyncio.to_thread(read)
    if not raw.items:
        raise InvalidInput("the package holds no item", field="package")
    manifest: dict[str, Any] = {"read_problems": [dataclasses.asdict(p) for p in (*raw.problems, *raw.warnings)]}
    issuer = raw.manifest.get("issuer")
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str):
        manifest["issuer"] = dict(issuer)
    version = raw.manifest.get("ocf_version") if format == "OCF" else None
    items = [NewDraftItem(i.file_type, i.filepath, i.item) for i in raw.items]
    try:
        draft_id = await queries.create(
            ctx.tx,
            acting.id,
            format,
            str(version)[:100] if version is not None else None,
            manifest,
            [dataclasses.asdict(c) for c in changes],
            items,
        )
    except PolicyViolation as error:
        raise Forbidden("you may not stage imports for this company") from error
    return await view(ctx, draft_id)


async def view(ctx: RequestContext, draft_id: UUID) -> StagedView:
    acting = require_writer(ctx)
    draft = await _draft(ctx, draft_id)
    items = await queries.items(ctx.tx, acting.id, draft.id)
    stored = await captable.ledger_rows(ctx.tx, acting.id)
    check = await asyncio.to_thread(_check, draft, items, stored, ctx.limits.jocf_schema_dir)
    state = replay(check.ledger, today(), ConvertibleRule.AT_CAP)
    warnings = tuple(Problem(**p) for p in draft.manifest.get("read_problems", []))
    return StagedView(draft, tuple(items), check, CapTableView(acting.id, check.ledger, state), warnings)


async def fix_item(ctx: RequestContext, draft_id: UUID, position: int, item: object) -> StagedView:
    if not isinstance(item, Mapping) or not isinstance(item.get("object_type"), str):
        raise InvalidInput("an item is a JSON object with an object_type", field="item")
    return await _change(ctx, draft_id, position, {"item": dict(item), "edited": True, "dropped": False})


async def drop_item(ctx: RequestContext, draft_id: UUID, position: int) -> StagedView:
    return await _change(ctx, draft_id, position, {"dropped": True})


async def commit(ctx: RequestContext, draft_id: UUID) -> Imported:
    acting = require_writer(ctx)
    async with ctx.tx.savepoint():
        draft = await _draft(ctx, draft_id, lock=True)
        _require_open(draft)
        items = await queries.items(ctx.tx, acting.id, draft.id)
        stored = await captable.ledger_rows(ctx.tx, acting.id)
        check = await asyncio.to_thread(_check, draft, items, stored, ctx.limits.jocf_schema_dir)
        if check.problems:
            raise LedgerProblems(check.problems)
        if not check.to_write:
            raise InvalidInput("every item of the draft was dropped; nothing to commit", field="id")
        issuer = draft.manifest.get("issuer")
        issuer_item = {**issuer, "object_type": ISSUER} if isinstance(issuer, Mapping) else None
        written = await append_items(ctx, check.to_write, issuer=issuer_item)
        try:
            committed = await queries.mark_committed(ctx.tx, acting.id, draft.id)
        except ConstraintViolation as error:  # expired (or committed) since it was read: the trigger refuses
            name = encode_global_id("StagedImport", draft.id)
            reason = quoting_global_id(str(error), "StagedImport", draft.id)
            raise Conflict(f"staged import {name} can no longer be committed: {reason}") from error
        if not committed:
            raise NotFound(f"no staged import {encode_global_id('StagedImport', draft.id)}")
    return Imported(len(written.ids), ())


async def _change(ctx: RequestContext, draft_id: UUID, position: int, values: Mapping[str, Any]) -> StagedView:
    acting = require_writer(ctx)
    async with ctx.tx.savepoint():
        draft = await _draft(ctx, draft_id, lock=True)
        _require_open(draft)
        try:
            changed = await queries.change_item(ctx.tx, acting.id, draft.id, position, values)
        except PolicyViolation as error:
            raise Forbidden("you may not change this staged import") from error
        if not changed:
            name = encode_global_id("StagedImport", draft.id)
            raise NotFound(f"staged import {name} has no item at position {position}")
    return await view(ctx, draft.id)


async def _draft(ctx: RequestContext, draft_id: UUID, *, lock: bool = False) -> DraftRecord:
    draft = await queries.draft(ctx.tx, draft_id, lock=lock)
    if draft is None:  # absent, another tenant's, or not yours to see: alike
        raise NotFound(f"no staged import {encode_global_id('StagedImport', draft_id)}")
    return draft


def _require_open(draft: DraftRecord) -> None:
    name = encode_global_id("StagedImport", draft.id)
    if draft.status != "open":
        raise Conflict(f"staged import {name} was committed at {draft.committed_at:%Y-%m-%d %H:%M} UTC")
    if draft.expired:
        raise Conflict(f"staged import {name} expired at {draft.expires_at:%Y-%m-%d %H:%M} UTC; stage it again")


def _check(
    draft: DraftRecord, items: Sequence[DraftItem], stored: Sequence[LedgerRow], schema_dir: Path | None
) -> DraftCheck:
    live = tuple(RawItem(i.file_type, i.filepath, i.item) for i in items if not i.dropped)
    payloads = [r.payload for r in stored]
    if draft.format == "JOCF":
        schema = _schema(schema_dir)
        jocf = import_jocf(RawPackage({}, (0, 0, 0), live), schema, payloads)
        result = jocf.result
        to_write = tuple(dict(i.item) for i in jocf.items)
        return DraftCheck(result.problems, result.groups, result.ledger, to_write, jocf.schema_checked, jocf.errata)
    issuer = next((p for p in payloads if p.get("object_type") == ISSUER), draft.manifest.get("issuer"))
    before = tuple(RawItem(ocf_file_of(p), "(ledger)", p) for p in payloads if p.get("object_type") != ISSUER)
    result = import_raw(RawPackage({"issuer": issuer} if issuer else {}, (1, 2, 0), (*before, *live)))
    to_write = tuple(dict(i.item) if i.file_type in _PASSTHROUGH_FILE_TYPES else normalize(i.item) for i in live)
    return DraftCheck(result.problems, result.groups, result.ledger, to_write, None, ())


def _schema(folder: Path | None) -> JocfSchema | None:
    return load_schema(folder) if folder is not None and folder.is_dir() else None
