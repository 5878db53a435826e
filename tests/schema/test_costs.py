"""Costs through GraphQL: import real billing files as a billing admin, assign their accounts, read them back
as each actor, and compare with a computation over the raw file that does not use the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import psycopg
from blake3 import blake3

from tests.plugins.costs import (
    ASSIGN,
    COST_IMPORT,
    COSTS,
    FOCUS_SAMPLE,
    LEGACY_SAMPLE,
    SIZES,
    RunJob,
    as_totals,
    assign,
    focus_totals,
    import_and_run,
    legacy_totals,
    shared_file,
)
from tests.plugins.graphql import GraphQL
from tests.plugins.world import ANONYMOUS, World


async def test_legacy_cur_imported_through_graphql_matches_the_raw_file(
    cost_gql: GraphQL, run_job: RunJob, world: World, release_accounts: Callable[[Iterable[str]], None]
) -> None:
    path = shared_file(LEGACY_SAMPLE)
    expected = legacy_totals(path)
    release_accounts({a for a, _, _ in expected})

    job = await import_and_run(cost_gql, run_job, world, path)

    assert job["status"] == "SUCCEEDED", job
    assert job["rowsProcessed"] == 1281
    assert job["bytesProcessed"] == job["bytesTotal"] == SIZES[path]
    assert {type(job[k]) for k in ("rowsProcessed", "bytesProcessed", "bytesTotal")} == {int}  # never "1281.0"
    assert job["periods"] == ["2023-11"]
    assert job["format"] == "legacy-cur"
    assert job["currency"] == "USD"
    assert job["error"] is None
    assert job["digest"] == blake3(path.read_bytes()).hexdigest()  # the file's identity
    assert job["sha256"] is None  # deprecated: no longer computed
    await assign(cost_gql, world, job["accounts"])
    result = await cost_gql(world.actor("startup_viewer"), COSTS, {"period": "2023-11"})
    assert "errors" not in result, result
    assert as_totals(result["data"]["costs"]) == expected


async def test_focus_sample_isolation_grants_and_reassignment(
    cost_gql: GraphQL,
    run_job: RunJob,
    world: World,
    owner_conn: psycopg.Connection,
    release_accounts: Callable[[Iterable[str]], None],
) -> None:
    path = shared_file(FOCUS_SAMPLE)
    expected = focus_totals(path)
    release_accounts({a for a, _, _ in expected})
    job = await import_and_run(cost_gql, run_job, world, path)
    assert job["status"] == "SUCCEEDED", job
    assert job["periods"] == ["2024-09", "2024-10"]
    assert len(job["accounts"]) == 73
    await assign(cost_gql, world, job["accounts"])
    window = {"from": "2024-01", "to": "2024-12"}

    own = await cost_gql(world.actor("startup_member"), COSTS, window)
    assert as_totals(own["data"]["costs"]) == expected

    # No leak: the other startup, and the acting tenant of a VC without `company`, see nothing.
    other = await cost_gql(world.actor("other_startup_owner"), COSTS, window)
    assert other["data"]["costs"] == []
    assert (await cost_gql(world.actor("vc_active"), COSTS, window))["data"]["costs"] == []
    forged = await cost_gql(world.actor("other_startup_owner"), COSTS, {**window, "company": world.slugs["startup"]})
    assert forged["data"] == {"costs": None}
    assert forged["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    # A VC granted `costs` reads them by company, audited in the startup's trail.
    granted = await cost_gql(world.actor("vc_active"), COSTS, {**window, "company": world.slugs["startup"]})
    assert as_totals(granted["data"]["costs"]) == expected
    audited = owner_conn.execute(
        "select count(*) from audit_events where tenant_id = %s and action = 'grant.read' and subject_type = 'costs'",
        (world.tenants["startup"],),
    ).fetchone()
    assert audited is not None
    assert audited[0] >= 1
    for vc in ("vc_lacking_scope", "vc_revoked", "vc_expired", "vc_requested"):
        denied = await cost_gql(world.actor(vc), COSTS, {**window, "company": world.slugs["startup"]})
        assert denied["data"] == {"costs": None}, vc
        assert denied["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND"), vc

    # The billing admin sees every billed tenant by default, or one company.
    billed = await cost_gql(world.actor("billing_admin"), COSTS, window)
    assert as_totals(billed["data"]["costs"]) == expected

    # Reassigning one account moves only what is charged after the move: every row of the file was charged
    # before it, so the first startup keeps them all and the other startup sees none (see test_holders.py).
    moved = job["accounts"][-1]
    await assign(cost_gql, world, [moved], tenant="other_startup")
    after_first = as_totals((await cost_gql(world.actor("startup_owner"), COSTS, window))["data"]["costs"])
    after_other = as_totals((await cost_gql(world.actor("other_startup_owner"), COSTS, window))["data"]["costs"])
    assert after_first == expected
    assert after_other == {}
    history = owner_conn.execute(
        "select tenant_id, valid_to is null from cloud_account_assignments where account_id = %s order by valid_from",
        (moved,),
    ).fetchall()
    assert history == [(world.tenants["startup"], False), (world.tenants["other_startup"], True)]

    anonymous = await cost_gql(ANONYMOUS, COSTS, window)
    assert anonymous["data"] == {"costs": None}
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_only_billing_admins_import_and_assign(cost_gql: GraphQL, world: World) -> None:
    path = shared_file(LEGACY_SAMPLE)
    for name in ("startup_owner", "vc_active", "other_startup_owner"):
        result = await cost_gql(world.actor(name), COST_IMPORT, {"path": str(path)})
        assert result["data"]["importCostReport"]["__typename"] == "NotAllowed", name
        variables = {"account": "000011112222", "tenant": world.slugs["startup"]}
        assigned = await cost_gql(world.actor(name), ASSIGN, variables)
        assert assigned["data"]["assignCloudAccount"]["__typename"] == "NotAllowed", name
    bad = await cost_gql(world.actor("billing_admin"), COST_IMPORT, {"path": "relative/file.csv"})
    assert bad["data"]["importCostReport"]["__typename"] == "InvalidInput"
    missing = await cost_gql(world.actor("billing_admin"), COST_IMPORT, {"path": "/nonexistent/cur.csv"})
    assert missing["data"]["importCostReport"]["__typename"] == "InvalidInput"
    # A tenant this operator does not bill (a VC) cannot receive an account.
    variables = {"account": "000011112222", "tenant": world.slugs["vc_active"]}
    vc = await cost_gql(world.actor("billing_admin"), ASSIGN, variables)
    assert vc["data"]["assignCloudAccount"]["__typename"] == "NotFound"
