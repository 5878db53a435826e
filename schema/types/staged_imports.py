"""Staged imports (drafts of OCF or JOCF packages) and the JOCF export."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from captable.causes import ProblemGroup as ProblemGroupValue
from db.queries.staged_imports import DraftItem
from resolvers.captable.staged_imports import StagedView
from schema.types.captable import CapTable, LedgerProblem
from schema.types.node import Node


@strawberry.enum(description="The format of an uploaded cap-table package.")
class ImportFormat(Enum):
    OCF = "OCF"
    JOCF = "JOCF"


@strawberry.type(description="One rewrite of an OCF 1.0.0 pre-release form into the current schema.")
class UpgradeChange:
    object_id: str
    object_type: str
    field: str
    before: JSON | None = strawberry.field(description="The source's value; null when it had none.")
    after: JSON | None = strawberry.field(description="The value now; null when the field is left out.")
    reason: str
    needs_value: bool = strawberry.field(description="The current schema requires a value the source lacks.")


@strawberry.type(description="Problems under their root cause: a rejected item and what depends on it.")
class ProblemGroup:
    root_id: str
    root_type: str
    summary: str = strawberry.field(description="e.g. \"12 transactions depend on rejected stock class 'A'\".")
    causes: list[LedgerProblem]
    dependants: list[LedgerProblem]
    dependant_ids: list[str]

    @classmethod
    def of(cls, group: ProblemGroupValue) -> ProblemGroup:
        return cls(
            root_id=group.root_id,
            root_type=group.root_type,
            summary=group.summary(),
            causes=[LedgerProblem.of(p) for p in group.causes],
            dependants=[LedgerProblem.of(p) for p in group.dependants],
            dependant_ids=list(group.dependant_ids),
        )


@strawberry.type(description="One item of a draft, in the package's own format (OCF, or JOCF).")
class StagedItem:
    position: int
    file_type: str
    object_type: str | None
    object_id: str | None
    payload: JSON
    dropped: bool
    edited: bool

    @classmethod
    def of(cls, item: DraftItem) -> StagedItem:
        kind, oid = item.item.get("object_type"), item.item.get("id")
        return cls(
            position=item.position,
            file_type=item.file_type,
            object_type=kind if isinstance(kind, str) else None,
            object_id=oid if isinstance(oid, str) else None,
            payload=JSON(item.item),
            dropped=item.dropped,
            edited=item.edited,
        )


@strawberry.type(
    description="A package kept as a draft: its problems (recomputed against the ledger at every read), the "
    "changes made upgrading it, and a preview of the cap table it would give. Nothing is in the ledger until "
    "commitStagedImport."
)
class StagedImport(Node):
    format: ImportFormat
    source_version: str | None
    status: str
    created_at: datetime
    expires_at: datetime
    expired: bool
    committed_at: datetime | None
    problems: list[LedgerProblem]
    problem_groups: list[ProblemGroup]
    changes: list[UpgradeChange]
    warnings: list[LedgerProblem] = strawberry.field(description="Package-level notes that block nothing.")
    schema_checked: bool | None = strawberry.field(
        description="JOCF: whether items were validated against the JOCF JSON Schema (false: structurally only)."
    )
    schema_errata: list[str] = strawberry.field(description="JOCF: the published schema's amended contradictions.")
    preview: CapTable = strawberry.field(description="The cap table today if the draft were committed as it is.")
    item_count: int
    staged: strawberry.Private[tuple[DraftItem, ...]]

    @strawberry.field(description="The draft's items by position (`first` at most 100, after `afterPosition`).")
    def items(self, first: int = 100, after_position: int = -1) -> list[StagedItem]:
        first = max(0, min(first, 100))
        return [StagedItem.of(i) for i in self.staged if i.position > after_position][:first]

    @classmethod
    def of(cls, view: StagedView) -> StagedImport:
        draft, check = view.draft, view.check
        return cls(
            db_id=draft.id,
            format=ImportFormat(draft.format),
            source_version=draft.source_version,
            status=draft.status,
            created_at=draft.created_at,
            expires_at=draft.expires_at,
            expired=draft.expired,
            committed_at=draft.committed_at,
            problems=[LedgerProblem.of(p) for p in check.problems],
            problem_groups=[ProblemGroup.of(g) for g in check.groups],
            changes=[UpgradeChange(**c) for c in draft.changes],
            warnings=[LedgerProblem.of(p) for p in view.warnings],
            schema_checked=check.schema_checked,
            schema_errata=list(check.errata),
            preview=CapTable.of(view.preview),
            item_count=len(view.items),
            staged=view.items,
        )


@strawberry.type
class JocfPackage:
    file_name: str
    content_base64: str = strawberry.field(description="A zip of the JOCF files, base64-encoded.")
    size_bytes: int
    warnings: list[LedgerProblem] = strawberry.field(description="Ledger items JOCF cannot express (left out).")
