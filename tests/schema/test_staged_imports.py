"""Staged imports through GraphQL as the real app role: a founder stages an older-format (OCF 1.0.0-b1) export,
inspects it, fixes and drops items and commits; nothing reaches the ledger before the commit; another tenant,
a viewer and a VC can neither see nor change nor commit the draft; an expired draft cannot be committed."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import httpx
import psycopg
import pytest

from tests.plugins import ocf_beta_package
from tests.plugins.captable import counts
from tests.plugins.graphql import GraphQL, token_for
from tests.plugins.jocf_samples import COMMON, SAMPLES, SCHEMA, repaired_item
from tests.plugins.world import Actor, World

DRAFT = """
fragment Draft on StagedImport {
  id format sourceVersion status expired itemCount schemaChecked
  problems { objectId objectType field reason }
  problemGroups { rootId rootType summary dependantIds }
  changes { objectId field before after needsValue }
  items(first: 100) { position objectType objectId dropped edited payload }
  preview { outstandingShares positions { securityId stakeholderId quantity } }
}
"""
STAGE = (
    DRAFT
    + """
mutation($package: String!, $format: ImportFormat!) {
  stageCapTableImport(package: $package, format: $format) { __typename ...Draft ... on Problem { message } }
}
"""
)
VIEW = DRAFT + "query($id: ID!) { stagedImport(id: $id) { ...Draft } }"
FIX = (
    DRAFT
    + """
mutation($id: ID!, $position: Int!, $item: JSON!) {
  fixStagedItem(id: $id, position: $position, item: $item) { __typename ...Draft ... on Problem { message } }
}
"""
)
DROP = (
    DRAFT
    + """
mutation($id: ID!, $position: Int!) {
  dropStagedItem(id: $id, position: $position) { __typename ...Draft ... on Problem { message } }
}
"""
)
COMMIT = """
mutation($id: ID!) {
  commitStagedImport(id: $id) {
    __typename
    ... on OcfImported { objectCount }
    ... on OcfRejected { problems { objectId field reason } }
    ... on Problem { message }
  }
}
"""
STAGED_TABLES = ("staged_imports", "staged_import_items")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _staged_counts(conn: psycopg.Connection, tenant: Any) -> dict[str, int]:
    out = {}
    for table in STAGED_TABLES:
        row = conn.execute(f"select count(*) from {table} where tenant_id = %s", (tenant,)).fetchone()
        assert row is not None
        out[table] = row[0]
    return out


async def _ok(gql: GraphQL, actor: Actor, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    result = await gql(actor, query, variables)
    assert "errors" not in result, result
    return result["data"][field]


def _position(draft: dict[str, Any], object_id: str) -> int:
    return next(i["position"] for i in draft["items"] if i["objectId"] == object_id)


async def test_a_founder_stages_fixes_drops_and_commits_an_ocf_beta_export(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    founder = world.actor("startup_owner")
    tenant = world.tenants["startup"]

    draft = await _ok(
        gql, founder, STAGE, {"package": _b64(ocf_beta_package.zipped()), "format": "OCF"}, "stageCapTableImport"
    )
    assert draft["__typename"] == "StagedImport", draft
    assert (draft["format"], draft["sourceVersion"], draft["status"]) == ("OCF", "1.0.0-b1", "open")
    asked = {
        "objectId": "seed",
        "field": "votes_per_share",
        "before": {"omitted": True},
        "after": None,
        "needsValue": True,
    }
    assert asked in draft["changes"]
    assert len(draft["changes"]) == 14
    summaries = [g["summary"] for g in draft["problemGroups"]]
    assert "4 transactions depend on rejected stock class 'seed'" in summaries
    assert not [p for p in draft["problems"] if p["reason"].endswith("does not exist")]
    # nothing in the ledger: staging wrote only the draft
    assert set(counts(owner_conn, [tenant]).values()) == {0}
    assert _staged_counts(owner_conn, tenant) == {"staged_imports": 1, "staged_import_items": 18}

    # fix the class (supply votes_per_share), repair the bad quantity, drop the early transfer
    seed = next(i for i in draft["items"] if i["objectId"] == "seed")
    fixed = await _ok(
        gql,
        founder,
        FIX,
        {"id": draft["id"], "position": seed["position"], "item": {**seed["payload"], "votes_per_share": "1"}},
        "fixStagedItem",
    )
    assert "4 transactions depend on rejected stock class 'seed'" not in [g["summary"] for g in fixed["problemGroups"]]
    bad = next(i for i in fixed["items"] if i["objectId"] == "i-bad")
    fixed = await _ok(
        gql,
        founder,
        FIX,
        {"id": draft["id"], "position": bad["position"], "item": {**bad["payload"], "quantity": "1000"}},
        "fixStagedItem",
    )
    early = _position(fixed, "t-early")
    dropped = await _ok(gql, founder, DROP, {"id": draft["id"], "position": early}, "dropStagedItem")
    assert dropped["problems"] == [], dropped["problems"]
    assert next(i for i in dropped["items"] if i["objectId"] == "t-early")["dropped"] is True
    assert (
        dropped["preview"]["outstandingShares"] == "7901000"
    )  # 6,000,000 + 250,000 + 50,000 + 1,000 common, 1,600,000 seed
    assert set(counts(owner_conn, [tenant]).values()) == {0}  # still nothing before the commit

    committed = await _ok(gql, founder, COMMIT, {"id": draft["id"]}, "commitStagedImport")
    assert committed["__typename"] == "OcfImported", committed
    assert counts(owner_conn, [tenant])["captable_objects"] == 18  # 17 items (one dropped) + the issuer
    viewed = await _ok(gql, founder, VIEW, {"id": draft["id"]}, "stagedImport")
    assert viewed["status"] == "committed"
    again = await _ok(gql, founder, COMMIT, {"id": draft["id"]}, "commitStagedImport")
    assert again["__typename"] == "Conflict"
    assert counts(owner_conn, [tenant])["captable_objects"] == 18


async def test_a_draft_with_problems_is_not_committed(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    founder = world.actor("startup_owner")
    draft = await _ok(
        gql, founder, STAGE, {"package": _b64(ocf_beta_package.zipped()), "format": "OCF"}, "stageCapTableImport"
    )
    outcome = await _ok(gql, founder, COMMIT, {"id": draft["id"]}, "commitStagedImport")
    assert outcome["__typename"] == "OcfRejected"
    assert {p["objectId"] for p in outcome["problems"]} >= {"seed", "i-bad", "t-early"}
    assert set(counts(owner_conn, [world.tenants["startup"]]).values()) == {0}


async def test_other_tenants_viewers_and_vcs_cannot_see_fix_or_commit(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    founder = world.actor("startup_owner")
    tenant = world.tenants["startup"]
    draft = await _ok(
        gql, founder, STAGE, {"package": _b64(ocf_beta_package.zipped()), "format": "OCF"}, "stageCapTableImport"
    )
    item = draft["items"][0]
    before_items = owner_conn.execute(
        "select position, item, dropped from staged_import_items where tenant_id = %s order by position", (tenant,)
    ).fetchall()
    for name in ("other_startup_owner", "startup_viewer", "vc_active"):
        attacker = world.actor(name)
        seen = await gql(attacker, VIEW, {"id": draft["id"]})
        assert not (seen.get("data") or {}).get("stagedImport")
        assert seen["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN"), seen
        fixed = await _ok(
            gql,
            attacker,
            FIX,
            {"id": draft["id"], "position": item["position"], "item": {**item["payload"], "name": "pwned"}},
            "fixStagedItem",
        )
        assert fixed["__typename"] in ("NotFound", "NotAllowed"), fixed
        dropped = await _ok(gql, attacker, DROP, {"id": draft["id"], "position": 0}, "dropStagedItem")
        assert dropped["__typename"] in ("NotFound", "NotAllowed"), dropped
        committed = await _ok(gql, attacker, COMMIT, {"id": draft["id"]}, "commitStagedImport")
        assert committed["__typename"] in ("NotFound", "NotAllowed"), committed
    after_items = owner_conn.execute(
        "select position, item, dropped from staged_import_items where tenant_id = %s order by position", (tenant,)
    ).fetchall()
    assert after_items == before_items
    status = owner_conn.execute("select status from staged_imports where tenant_id = %s", (tenant,)).fetchall()
    assert status == [("open",)]
    for key in ("startup", "other_startup"):
        assert set(counts(owner_conn, [world.tenants[key]]).values()) == {0}


async def test_an_expired_draft_cannot_be_fixed_or_committed(
    gql: GraphQL, world: World, owner_conn: psycopg.Connection
) -> None:
    founder = world.actor("startup_owner")
    tenant = world.tenants["startup"]
    draft = await _ok(
        gql, founder, STAGE, {"package": _b64(ocf_beta_package.zipped()), "format": "OCF"}, "stageCapTableImport"
    )
    with owner_conn.transaction():  # time passes: the lifecycle trigger refuses any other change, even the owner's
        owner_conn.execute("alter table staged_imports disable trigger staged_imports_lifecycle")
        owner_conn.execute(
            "update staged_imports set expires_at = now() - interval '1 minute' where tenant_id = %s", (tenant,)
        )
        owner_conn.execute("alter table staged_imports enable trigger staged_imports_lifecycle")
    viewed = await _ok(gql, founder, VIEW, {"id": draft["id"]}, "stagedImport")
    assert viewed["expired"] is True
    dropped = await _ok(gql, founder, DROP, {"id": draft["id"], "position": 0}, "dropStagedItem")
    assert dropped["__typename"] == "Conflict"
    committed = await _ok(gql, founder, COMMIT, {"id": draft["id"]}, "commitStagedImport")
    assert committed["__typename"] == "Conflict", committed
    assert set(counts(owner_conn, [tenant]).values()) == {0}
    assert owner_conn.execute(
        "select count(*) from staged_import_items where tenant_id = %s and dropped", (tenant,)
    ).fetchone() == (0,)


def _jocf_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((SAMPLES / "stocktransfer").glob("*.json")):
            archive.writestr(path.name, path.read_bytes())
        archive.writestr(
            "StockClassesFile.jocf.json", json.dumps({"file_type": "JOCF_STOCK_CLASSES_FILE", "items": [COMMON]})
        )
    return buffer.getvalue()


POST_STAGE = STAGE
EXPORT_JOCF = "query { exportJocfPackage { fileName contentBase64 warnings { objectId } } }"


async def _post(client: httpx.AsyncClient, actor: Actor, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token_for(actor)}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.mark.skipif(not SCHEMA.is_dir(), reason="shared JOCF data is absent")
async def test_a_jocf_package_is_staged_fixed_committed_and_exported(
    http_client: httpx.AsyncClient, world: World, owner_conn: psycopg.Connection
) -> None:
    founder = world.actor("startup_owner")
    tenant = world.tenants["startup"]
    data = await _post(http_client, founder, STAGE, {"package": _b64(_jocf_zip()), "format": "JOCF"})
    draft = data["stageCapTableImport"]
    assert draft["schemaChecked"] is True, draft
    assert {(p["objectId"], p["field"]) for p in draft["problems"]} >= {
        ("test-securityholder-investor-a", "name"),
        ("test-initial-stock-issuance-1", "securityholder_id"),
    }
    for item in draft["items"]:
        repaired = repaired_item(item["payload"])
        if repaired != item["payload"]:
            fixed = await _post(
                http_client, founder, FIX, {"id": draft["id"], "position": item["position"], "item": repaired}
            )
            assert fixed["fixStagedItem"]["__typename"] == "StagedImport", fixed
    assert fixed["fixStagedItem"]["problems"] == []
    assert set(counts(owner_conn, [tenant]).values()) == {0}
    committed = await _post(http_client, founder, COMMIT, {"id": draft["id"]})
    assert committed["commitStagedImport"]["__typename"] == "OcfImported", committed
    assert counts(owner_conn, [tenant])["captable_objects"] == 8  # 7 items + the issuer

    exported = (await _post(http_client, founder, EXPORT_JOCF, {}))["exportJocfPackage"]
    other = world.actor("other_startup_owner")
    again = await _post(http_client, other, STAGE, {"package": exported["contentBase64"], "format": "JOCF"})
    assert again["stageCapTableImport"]["problems"] == []
    positions = sorted((p["securityId"], p["quantity"]) for p in again["stageCapTableImport"]["preview"]["positions"])
    assert positions == [("test-security-stock-a-2", "750"), ("test-security-stock-x-1", "250")]
