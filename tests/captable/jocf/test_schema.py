"""The JOCF JSON Schemas read from their folder: one validator per (file_type, object_type), each error a
problem with the item, the JSON path and the schema's reason, and the published contradictions amended."""

from __future__ import annotations

from typing import Any

import pytest

from captable.jocf.schema import ERRATA, FILE_SCHEMAS, MAX_REASON, JocfSchema, load_schema
from captable.problems import Problem
from tests.plugins.jocf_samples import SAMPLES, SCHEMA, load, repaired_item

pytestmark = pytest.mark.skipif(not SCHEMA.is_dir(), reason="shared JOCF data is absent")
TRANSACTIONS = "JOCF_TRANSACTIONS_FILE"


@pytest.fixture(scope="module")
def schema() -> JocfSchema:
    return load_schema(SCHEMA)


def _sample(path: str, item_id: str) -> dict[str, Any]:
    return next(i for i in load(SAMPLES / path)["items"] if i["id"] == item_id)


def test_each_jocf_file_has_the_validators_of_its_item_types(schema: JocfSchema) -> None:
    assert set(schema.validators) == set(FILE_SCHEMAS)
    assert schema.object_types("JOCF_SECURITY_HOLDERS_FILE") == {"SECURITY_HOLDER"}
    assert schema.object_types("JOCF_STOCK_CLASSES_FILE") == {"STOCK_CLASS"}
    assert schema.object_types("JOCF_SECURITYHOLDERS_AGREEMENT_FILE") == {
        "ACQUISITION_DISTRIBUTION_AGREEMENT",
        "MASTER_SECURITYHOLDERS_AGREEMENT",
    }
    assert schema.object_types(TRANSACTIONS) == {
        "TX_CONVERTIBLE_CONVERSION",
        "TX_CONVERTIBLE_ISSUANCE",
        "TX_SECURITYHOLDERS_AGREEMENT_EXECUTION",
        "TX_SECURITYHOLDERS_AGREEMENT_MODIFICATION",
        "TX_SECURITYHOLDERS_AGREEMENT_TERMINATION",
        "TX_STOCK_CONVERSION",  # the schema declares TX_CONVERTIBLE_CONVERSION twice (erratum 3)
        "TX_STOCK_ISSUANCE",
        "TX_STOCK_MERGER",
        "TX_STOCK_OPTION_CANCELLATION",
        "TX_STOCK_OPTION_EXERCISE",
        "TX_STOCK_OPTION_ISSUANCE",
        "TX_STOCK_SPLIT",
        "TX_STOCK_TRANSFER",
    }
    assert schema.object_types("OCF_MANIFEST_FILE") == frozenset()
    assert load_schema(SCHEMA) is schema  # built once per folder
    assert len(ERRATA) == 6


def test_each_schema_error_names_the_json_path_and_why(schema: JocfSchema) -> None:
    holder = _sample("j-kiss_2/1/SecurityHoldersFile.jocf.json", "test-securityholder-investor-x")
    oid = "test-securityholder-investor-x"
    assert schema.problems("JOCF_SECURITY_HOLDERS_FILE", holder) == [
        Problem(oid, "SECURITY_HOLDER", "name", "'投資家 X' is not of type 'object'"),
        Problem(oid, "SECURITY_HOLDER", "address", f"{holder['address']!r} is not of type 'string'"),
    ]
    assert schema.problems("JOCF_SECURITY_HOLDERS_FILE", repaired_item(holder)) == []


def test_a_missing_nested_field_is_named_by_its_full_path(schema: JocfSchema) -> None:
    issuance = _sample("j-kiss_2/1/TransactionsFile.jocf.json", "test-convertible-issuance-1")
    oid, kind = "test-convertible-issuance-1", "TX_CONVERTIBLE_ISSUANCE"
    assert schema.problems(TRANSACTIONS, issuance) == [
        Problem(
            oid, kind, "mandatory_redemption_attributes.mandatory_redemption_multiple", "'2' is not of type 'object'"
        ),
        Problem(
            oid, kind, "mandatory_redemption_attributes.has_mandatory_redemption_trigger", "required field is missing"
        ),
    ]
    assert schema.problems(TRANSACTIONS, repaired_item(issuance)) == []
    del issuance["date"]
    assert Problem(oid, kind, "date", "required field is missing") in schema.problems(TRANSACTIONS, issuance)


def test_an_item_of_another_file_or_of_no_type_is_one_problem(schema: JocfSchema) -> None:
    holder = {"object_type": "SECURITY_HOLDER", "id": "h", "name": {"legal_name": "H"}}
    [problem] = schema.problems(TRANSACTIONS, holder)
    assert (problem.object_id, problem.object_type, problem.field) == ("h", "SECURITY_HOLDER", "object_type")
    assert problem.reason.startswith(f"'SECURITY_HOLDER' is not an item of {TRANSACTIONS} (TX_CONVERTIBLE_CONVERSION, ")
    assert schema.problems(TRANSACTIONS, {"id": ""})[0].object_id == "?"


def test_a_long_reason_is_cut_to_max_reason(schema: JocfSchema) -> None:
    holder = {"object_type": "SECURITY_HOLDER", "id": "h", "name": "x" * 1000}
    [problem] = schema.problems("JOCF_SECURITY_HOLDERS_FILE", holder)
    assert len(problem.reason) == MAX_REASON
    assert problem.reason.endswith("…")


def test_the_errata_make_the_option_issuance_carry_a_holder(schema: JocfSchema) -> None:
    option = {
        "object_type": "TX_STOCK_OPTION_ISSUANCE",
        "id": "o",
        "date": "2024-01-01",
        "securityholder_id": "h",
        "security_id": "so-1",
        "quantity": "10",
        "share_per_unit": "100",
        "unit_price": {"amount": "1000", "currency": "JPY"},
    }
    assert schema.problems(TRANSACTIONS, option) == []
    # share_per_unit is a number of shares (Numeric), not money
    assert schema.problems(TRANSACTIONS, {**option, "share_per_unit": {"amount": "100", "currency": "JPY"}}) != []
