"""The JOCF JSON Schemas, read from a folder (they are CC BY-ND: used verbatim, never shipped with roundpool).

Each item is validated against the schema its file's ``items`` names for its ``object_type``; every error is a
:class:`~captable.problems.Problem` naming the item, the JSON path of the field and the schema's reason.

The published schemas contradict themselves in a few places, so no item could ever be valid. Those places are
amended in memory, each listed in :data:`ERRATA` (and in every result), never silently:
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from captable.problems import Problem

BASE = "https://jocf.startupstandard.org/jocf/main/schema/"
MAX_REASON = 300
_REQUIRED = re.compile(r"^'(.+)' is a required property$")

ERRATA: tuple[str, ...] = (
    "references to objects/Securityholder, objects/SecurityholderGroup and enums/MattersRequiringPriorActionType "
    "resolve to the schemas published as SecurityHolder, SecurityHolderGroup and MattersRequiringPriorAction",
    "enums/ObjectType also admits every object_type that an object schema declares as its own",
    "objects/transactions/conversion/StockConversion is for TX_STOCK_CONVERSION (it declares TX_CONVERTIBLE_"
    "CONVERSION) and its stock_class_id / stock_class_id_converted are ids, not numbers",
    "types/File does not require filepath and md5 inside a file (they describe a container entry)",
    "types/SecurityHolderContactInfo and SecurityHolderPrimaryContact do not require 'email', a property they "
    "do not define (they define 'emails')",
    "the stock option issuance, exercise and cancellation admit the holder and security fields every other "
    "security transaction has (securityholder_id, security_id, resulting_security_ids), without which an option "
    "has no holder; share_per_unit is a number of shares, not an amount of money",
)

# file_type → the file schema listing the item schemas
FILE_SCHEMAS: dict[str, str] = {
    "JOCF_SECURITY_HOLDERS_FILE": "files/SecurityHoldersFile.schema.json",
    "JOCF_STOCK_CLASSES_FILE": "files/StockClassesFile.schema.json",
    "JOCF_TRANSACTIONS_FILE": "files/TransactionsFile.schema.json",
    "JOCF_SECURITYHOLDERS_AGREEMENT_FILE": "files/SecurityholdersAgreementsFile.schema.json",
}


@dataclass(frozen=True)
class JocfSchema:
    """Validators per (file_type, object_type), built once per folder."""

    folder: Path
    validators: Mapping[str, Mapping[str, Draft7Validator]]

    def object_types(self, file_type: str) -> frozenset[str]:
        return frozenset(self.validators.get(file_type, {}))

    def problems(self, file_type: str, item: Mapping[str, Any]) -> list[Problem]:
        oid = item.get("id") if isinstance(item.get("id"), str) and item.get("id") else "?"
        kind = item.get("object_type")
        by_type = self.validators.get(file_type, {})
        validator = by_type.get(kind) if isinstance(kind, str) else None
        if validator is None:
            allowed = ", ".join(sorted(by_type))
            return [Problem(str(oid), str(kind), "object_type", f"{kind!r} is not an item of {file_type} ({allowed})")]
        found = [Problem(str(oid), str(kind), _path(e), _reason(e)) for e in _errors(validator, item)]
        return list(dict.fromkeys(found))


def load_schema(folder: Path) -> JocfSchema:
    return _load(folder.resolve())


@lru_cache(maxsize=4)
def _load(folder: Path) -> JocfSchema:
    contents: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*.schema.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        contents[data.get("$id") or BASE + path.relative_to(folder).as_posix()] = data
    _amend(contents)
    resources = [(uri, Resource.from_contents(c, default_specification=DRAFT7)) for uri, c in contents.items()]
    for alias, target in _ALIASES.items():
        if BASE + target in contents:
            resources.append((BASE + alias, Resource.from_contents(contents[BASE + target], DRAFT7)))
    registry: Registry[Any] = Registry().with_resources(resources)
    validators: dict[str, dict[str, Draft7Validator]] = {}
    for file_type, name in FILE_SCHEMAS.items():
        file_schema = contents.get(BASE + name) or _by_const(contents, file_type)
        if file_schema is None:
            continue
        validators[file_type] = {
            kind: Draft7Validator(schema, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)
            for kind, schema in _item_schemas(file_schema, contents)
        }
    return JocfSchema(folder, validators)


_ALIASES = {
    "objects/Securityholder.schema.json": "objects/SecurityHolder.schema.json",
    "objects/SecurityholderGroup.schema.json": "objects/SecurityHolderGroup.schema.json",
    "enums/MattersRequiringPriorActionType.schema.json": "enums/MattersRequiringPriorAction.schema.json",
}


def _amend(contents: dict[str, dict[str, Any]]) -> None:
    """Apply :data:`ERRATA` to the loaded schemas (in memory only)."""
    consts = sorted({k for c in contents.values() if (k := _const(c)) is not None} | {"TX_STOCK_CONVERSION"})
    enum = contents.get(BASE + "enums/ObjectType.schema.json")
    if enum is not None:
        enum["enum"] = sorted(set(enum.get("enum", [])) | set(consts))
    conversion = contents.get(BASE + "objects/transactions/conversion/StockConversion.schema.json")
    if conversion is not None:
        props = conversion.setdefault("properties", {})
        props["object_type"] = {"const": "TX_STOCK_CONVERSION"}
        for key in ("stock_class_id", "stock_class_id_converted"):
            if key in props:
                props[key] = {"type": "string"}
    file_base = contents.get(BASE + "types/File.schema.json")
    if file_base is not None:
        file_base["required"] = []
    for name in ("types/SecurityHolderContactInfo.schema.json", "types/SecurityHolderPrimaryContact.schema.json"):
        contact = contents.get(BASE + name)
        if contact is not None:
            contact["required"] = [r for r in contact.get("required", []) if r != "email"]
    options = {
        "issuance/StockOptionIssuance": ("securityholder_id", "security_id"),
        "exercise/StockOptionExercise": ("security_id", "resulting_security_ids"),
        "cancellation/StockOptionCancellation": ("security_id",),
    }
    for name, fields in options.items():
        schema = contents.get(f"{BASE}objects/transactions/{name}.schema.json")
        if schema is None:
            continue
        props = schema.setdefault("properties", {})
        for field in fields:
            props.setdefault(
                field, {"type": "array", "items": {"type": "string"}} if field.endswith("ids") else {"type": "string"}
            )
        if "share_per_unit" in props:
            props["share_per_unit"] = {"$ref": BASE + "types/Numeric.schema.json"}


def _const(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("properties", {}).get("object_type", {})
    value = kind.get("const") if isinstance(kind, Mapping) else None
    return value if isinstance(value, str) else None


def _by_const(contents: Mapping[str, dict[str, Any]], file_type: str) -> dict[str, Any] | None:
    for schema in contents.values():
        if schema.get("properties", {}).get("file_type", {}).get("const") == file_type:
            return schema
    return None


def _item_schemas(file_schema: Mapping[str, Any], contents: Mapping[str, dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    items = file_schema.get("properties", {}).get("items", {}).get("items", {})
    for ref in [o.get("$ref") for o in items.get("oneOf", [])] or [items.get("$ref")]:
        schema = contents.get(ref) if isinstance(ref, str) else None
        kind = _const(schema) if schema is not None else None
        if schema is not None and kind is not None:
            yield kind, copy.deepcopy(schema)


def _errors(validator: Draft7Validator, item: Mapping[str, Any]) -> Iterator[ValidationError]:
    for error in validator.iter_errors(item):
        if error.validator in ("oneOf", "anyOf") and error.context:
            yield best_match(error.context)
        else:
            yield error


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    missing = _REQUIRED.match(error.message) if error.validator == "required" else None
    if missing is not None:
        out = f"{out}.{missing.group(1)}" if out else missing.group(1)
    return out or "(item)"


def _reason(error: ValidationError) -> str:
    if error.validator == "required":
        return "required field is missing"
    message = str(error.message)  # jsonschema is untyped here; its messages are always str
    return message if len(message) <= MAX_REASON else message[: MAX_REASON - 1] + "…"
