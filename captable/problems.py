"""The unit of validation output: one defect, naming the object and the field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    object_id: str
    object_type: str
    field: str
    reason: str

    def message(self) -> str:
        return f"{self.object_type} {self.object_id!r}, field {self.field!r}: {self.reason}"
