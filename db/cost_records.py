"""Cost rows as the layers above see them: frozen, typed, no SQLAlchemy objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


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
    sha256: str | None
    format: str | None
    currency: str | None
    rows: int
    bytes: int
    bytes_total: int | None
    periods: list[str]
    accounts: list[str]
    status: str
    error: dict[str, Any] | None
    job_id: int | None
    created_by: UUID
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    late_data: str = "reject"  # 'reject' | 'corrections' (cost.imports.LateData values)
    rehomed: list[dict[str, Any]] = field(default_factory=list)  # [{source_period, target_period, rows}]

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "duplicate")
