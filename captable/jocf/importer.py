"""Import a JOCF package onto the ledger: validate each item against the JOCF JSON Schema, map it to its OCF
item, then validate the ledger exactly as an OCF import does (same rules, problems by root cause).

Without the schema folder (it is not shipped: see :mod:`captable.jocf.schema`) items are checked structurally
by the mapping and the OCF item rules only, and the result says so (``schema_checked`` False).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from captable.causes import ProblemGroup, Rejected
from captable.jocf.mapping import JOCF_FIELDS, MAPPED_TYPES, OCF_FILES, ORIGINAL, to_ocf, unit_values
from captable.jocf.schema import ERRATA, JocfSchema
from captable.ocf.importer import ImportResult, import_raw, rejected_item
from captable.ocf.reader import RawItem, RawPackage
from captable.problems import Problem

OCF_VERSION = (1, 2, 0)


@dataclass(frozen=True)
class JocfImport:
    result: ImportResult  # the ledger with the package; its problems name JOCF object types and fields
    schema_checked: bool
    errata: tuple[str, ...]
    items: tuple[RawItem, ...] = ()  # the package's items mapped to OCF: what an import appends

    @property
    def ok(self) -> bool:
        return self.result.ok


def import_jocf(raw: RawPackage, schema: JocfSchema | None, stored: Iterable[Mapping[str, Any]] = ()) -> JocfImport:
    """`stored` are the ledger's existing OCF items: a delivery continues them (refers to their holders and
    securities), and the package is validated with them."""
    stored = list(stored)
    originals = [s[ORIGINAL] for s in stored if isinstance(s.get(ORIGINAL), Mapping)]
    units = unit_values([*originals, *(i.item for i in raw.items)])
    problems: list[Problem] = []
    rejected: list[Rejected] = []
    mapped: list[RawItem] = []
    kinds: dict[str, str] = {}
    for raw_item in raw.items:
        item = raw_item.item
        found = schema.problems(raw_item.file_type, item) if schema is not None else _structural(item)
        ocf: tuple[str, dict[str, Any]] | None = None
        if not found:
            try:
                ocf = to_ocf(item, units)
            except (KeyError, TypeError, ValueError, ArithmeticError) as error:
                found = [_unreadable(item, error)]
        if ocf is None:
            problems.extend(found)
            rejected.append(rejected_item(item))
            continue
        kinds[str(item.get("id"))] = str(item.get("object_type"))
        mapped.append(RawItem(ocf[0], raw_item.filepath, ocf[1]))
    before = tuple(RawItem(ocf_file_of(s), "(ledger)", s) for s in stored if s.get("object_type") != "ISSUER")
    package = RawPackage({}, OCF_VERSION, (*before, *mapped), raw.problems, raw.warnings, raw.files)
    result = import_raw(package, problems, rejected)
    named = tuple(dict.fromkeys(_in_jocf_terms(p, kinds) for p in result.problems))
    groups = tuple(
        ProblemGroup(
            g.root_id,
            kinds.get(g.root_id, g.root_type),
            tuple(_in_jocf_terms(p, kinds) for p in g.causes),
            tuple(_in_jocf_terms(p, kinds) for p in g.dependants),
        )
        for g in result.groups
    )
    checked = replace(result, problems=named, groups=groups)
    return JocfImport(checked, schema is not None, ERRATA if schema else (), tuple(mapped))


_OCF_FILES = {
    "STAKEHOLDER": "OCF_STAKEHOLDERS_FILE",
    "STOCK_CLASS": "OCF_STOCK_CLASSES_FILE",
    "STOCK_PLAN": "OCF_STOCK_PLANS_FILE",
    "VESTING_TERMS": "OCF_VESTING_TERMS_FILE",
    "VALUATION": "OCF_VALUATIONS_FILE",
    "FINANCING": "OCF_FINANCINGS_FILE",
    "STOCK_LEGEND_TEMPLATE": "OCF_STOCK_LEGEND_TEMPLATES_FILE",
    "DOCUMENT": "OCF_DOCUMENTS_FILE",
    **{k: v for k, v in OCF_FILES.items() if v.startswith("JOCF_")},
}


def ocf_file_of(item: Mapping[str, Any]) -> str:
    return _OCF_FILES.get(str(item.get("object_type")), "OCF_TRANSACTIONS_FILE")


def _in_jocf_terms(problem: Problem, kinds: Mapping[str, str]) -> Problem:
    kind = kinds.get(problem.object_id)
    if kind is None:
        return problem
    field = JOCF_FIELDS.get(problem.field, problem.field)
    if kind == "TX_STOCK_MERGER" and field == "split_ratio":
        field = "merger_ratio"
    return Problem(problem.object_id, kind, field, problem.reason)


def _structural(item: Mapping[str, Any]) -> list[Problem]:
    kind = item.get("object_type")
    oid = str(item.get("id") or "?")
    if kind not in MAPPED_TYPES:
        return [Problem(oid, str(kind), "object_type", f"{kind!r} is not a JOCF object type roundpool reads")]
    if not isinstance(item.get("id"), str) or not item["id"]:
        return [Problem(oid, str(kind), "id", "required field is missing")]
    return []


def _unreadable(item: Mapping[str, Any], error: Exception) -> Problem:
    oid, kind = str(item.get("id") or "?"), str(item.get("object_type"))
    if isinstance(error, KeyError):
        return Problem(oid, kind, JOCF_FIELDS.get(str(error.args[0]), str(error.args[0])), "required field is missing")
    return Problem(oid, kind, "(item)", f"cannot be read: {error}")
