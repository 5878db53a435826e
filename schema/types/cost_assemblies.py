"""A cost report assembly (a manifest and its parts) and its progress, part by part."""

from __future__ import annotations

from datetime import datetime

import strawberry

from cost import LateData
from db.cost_records import CostAssemblyStatus
from resolvers.costs.assemblies import AssemblyView
from schema.types.costs import CostImport, CostImportError, RehomedPeriod
from schema.types.counts import Count
from schema.types.node import Node

strawberry.enum(
    CostAssemblyStatus,
    name="CostAssemblyStatus",
    description="QUEUED: parts importing; PUBLISHING: every part staged, publication queued; "
    "SUCCEEDED: published (it replaced the previous assembly of its report and period); FAILED: "
    "nothing published, see `error`; DUPLICATE: this delivery was imported before; SUPERSEDED: a "
    "newer assembly of the same report and period was published first.",
)


@strawberry.type(
    description="One delivery of a cost report: its manifest, its parts (one import job each) "
    "and the progress summed over them."
)
class CostAssembly(Node):
    status: CostAssemblyStatus
    manifest: str = strawberry.field(description="The manifest's location.")
    source: str = strawberry.field(description="The configured cost source it was read from.")
    kind: str = strawberry.field(description="legacy-cur or data-exports.")
    report: str = strawberry.field(description="Report (legacy CUR) or export (Data Exports) name.")
    period: str
    assembly_id: str = strawberry.field(description="The manifest's assemblyId or executionId.")
    parts_total: int
    parts_done: int
    parts_failed: int
    bytes_processed: Count
    bytes_total: Count
    rows_processed: Count
    late_data: LateData
    rehomed: list[RehomedPeriod]
    error: CostImportError | None
    parts: list[CostImport]
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_view(cls, view: AssemblyView) -> CostAssembly:
        r, p = view.record, view.progress
        error = None
        if r.error is not None:
            error = CostImportError(
                file=str(r.error.get("file", "")),
                row=r.error.get("row"),
                column=r.error.get("column"),
                reason=str(r.error.get("reason", "")),
            )
        return cls(
            db_id=r.id,
            status=r.status,
            manifest=r.manifest_uri,
            source=r.source_name,
            kind=r.kind,
            report=r.report,
            period=r.period,
            assembly_id=r.assembly_key,
            parts_total=r.parts_total,
            parts_done=p.parts_done,
            parts_failed=p.parts_failed,
            bytes_processed=Count(p.bytes),
            bytes_total=Count(p.bytes_total),
            rows_processed=Count(p.rows),
            late_data=r.late_data,
            rehomed=[
                RehomedPeriod(source_period=x["source_period"], target_period=x["target_period"], rows=x["rows"])
                for x in r.rehomed
            ],
            error=error,
            parts=[CostImport.from_record(part) for part in view.parts],
            created_at=r.created_at,
            finished_at=r.finished_at,
        )
