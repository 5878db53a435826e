"""Cost rows as the layers above see them: frozen, typed, no SQLAlchemy objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from cost.imports import LateData
from cost.manifests import ManifestKind
from cost.report_sources import ReportFormat


class CostImportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DUPLICATE = "duplicate"


class CostAssemblyStatus(enum.StrEnum):
    QUEUED = "queued"
    PUBLISHING = "publishing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DUPLICATE = "duplicate"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class CloudAccountRecord:
    tenant_id: UUID
    account_id: str
    payer_account_id: str | None
    name: str
    assigned_by: UUID | None
    assigned_at: datetime
    operator_id: UUID


@dataclass(frozen=True)
class CostImportRecord:
    tenant_id: UUID
    id: UUID
    source_uri: str
    source_name: str
    digest: str | None
    format: str | None
    currency: str | None
    rows: int
    bytes: int
    bytes_total: int | None
    periods: list[str]
    accounts: list[str]
    status: CostImportStatus
    error: dict[str, Any] | None
    job_id: int | None
    created_by: UUID
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    late_data: LateData = LateData.REJECT
    rehomed: list[dict[str, Any]] = field(default_factory=list)  # [{source_period, target_period, rows}]
    assembly_id: UUID | None = None  # a part of that assembly; None: a single-file import
    part_index: int | None = None
    staged: list[dict[str, Any]] | None = None  # the part's unpublished files

    def __post_init__(self) -> None:
        # Rows arrive as plain strings (`Record(**row._mapping)`); an unknown value fails here, not later.
        object.__setattr__(self, "status", CostImportStatus(self.status))
        object.__setattr__(self, "late_data", LateData(self.late_data))

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "duplicate")


@dataclass(frozen=True)
class CostAssemblyRecord:
    """One delivery of a report (a manifest and its parts) and where its import stands."""

    tenant_id: UUID
    id: UUID
    manifest_uri: str
    source_name: str
    kind: ManifestKind
    report: str
    period: str
    assembly_key: str
    parts_total: int
    status: CostAssemblyStatus
    late_data: LateData
    error: dict[str, Any] | None
    rehomed: list[dict[str, Any]]
    catalog_version: int | None
    publish_job_id: int | None
    created_by: UUID
    created_at: datetime
    finished_at: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ManifestKind(self.kind))
        object.__setattr__(self, "status", CostAssemblyStatus(self.status))
        object.__setattr__(self, "late_data", LateData(self.late_data))

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "duplicate", "superseded")


@dataclass(frozen=True)
class AssemblyProgress:
    parts_done: int
    parts_failed: int
    bytes: int
    bytes_total: int
    rows: int


@dataclass(frozen=True)
class ReportSourceRecord:
    """A bucket prefix (or local mirror) a billing admin registered for scheduled sync (migration 0017)."""

    tenant_id: UUID
    id: UUID
    location: str
    source_name: str
    format: ReportFormat
    late_data: LateData  # the lateData of the assemblies its syncs queue
    created_by: UUID
    created_at: datetime
    last_synced_at: datetime | None
    last_manifest_at: datetime | None
    last_error: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "format", ReportFormat(self.format))
        object.__setattr__(self, "late_data", LateData(self.late_data))
