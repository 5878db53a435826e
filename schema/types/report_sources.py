"""Report sources a billing admin registered, and what their last sync found."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from cost import LateData
from cost.report_sources import ReportFormat
from db.cost_records import CostAssemblyStatus
from resolvers.costs.report_sources import ReportSourceView, SyncOutcome
from schema.types.node import global_id

strawberry.enum(
    ReportFormat,
    name="ReportSourceFormat",
    description="The layout AWS writes under the prefix: LEGACY_CUR `<report>/<yyyymmdd-yyyymmdd>/"
    "<report>-Manifest.json`; CUR_2_0 and FOCUS (Data Exports) `<export>/metadata/"
    "BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`.",
)


@strawberry.type(description="A bucket prefix (or local mirror folder) synced for new deliveries.")
class ReportSource:
    id: strawberry.ID
    location: str
    format: ReportFormat
    source: str = strawberry.field(description="The configured cost source the location lies in.")
    late_data: LateData = strawberry.field(description="The lateData of the assemblies its syncs queue.")
    created_at: datetime
    last_synced_at: datetime | None
    last_manifest_modified_at: datetime | None = strawberry.field(
        description="Last-modified time of the newest manifest the last sync listed."
    )
    last_error: str | None = strawberry.field(description="Why manifests were not queued at the last sync.")
    last_assembly_id: strawberry.ID | None
    last_assembly_status: CostAssemblyStatus | None
    lag_seconds: float | None = strawberry.field(
        description="Now minus the newest manifest's last-modified time (else the last assembly's creation): "
        "how old the newest delivery is."
    )

    @classmethod
    def from_view(cls, view: ReportSourceView) -> ReportSource:
        r, last = view.record, view.last_assembly
        return cls(
            id=strawberry.ID(str(r.id)),
            location=r.location,
            format=r.format,
            source=r.source_name,
            late_data=r.late_data,
            created_at=r.created_at,
            last_synced_at=r.last_synced_at,
            last_manifest_modified_at=r.last_manifest_at,
            last_error=r.last_error,
            last_assembly_id=global_id("CostAssembly", last.id) if last else None,
            last_assembly_status=last.status if last else None,
            lag_seconds=view.lag_seconds(datetime.now(UTC)),
        )


@strawberry.type(description="What one sync of a report source did.")
class ReportSourceSync:
    source_id: strawberry.ID
    queued_assembly_ids: list[strawberry.ID]
    known: int = strawberry.field(description="Manifests whose delivery was queued before (skipped).")
    problems: list[str] = strawberry.field(description="Manifests not queued this time, with the reason.")

    @classmethod
    def from_outcome(cls, outcome: SyncOutcome) -> ReportSourceSync:
        return cls(
            source_id=strawberry.ID(str(outcome.source.id)),
            queued_assembly_ids=[global_id("CostAssembly", a.id) for a in outcome.queued],
            known=outcome.known,
            problems=outcome.problems,
        )
