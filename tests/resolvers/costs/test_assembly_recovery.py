"""A worker SIGKILLed while it stages a part of an assembly: the part is retried by another worker, the
assembly completes, and every row is published once (real `roundpool worker` processes, as in
tests/resolvers/test_job_recovery.py)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import psycopg

from cost import CostStore
from tests.plugins.cost_files import LEGACY_HEADER, write_legacy_csv
from tests.plugins.costs import (
    ASSEMBLY_IMPORT,
    ASSEMBLY_STATUS,
    COSTS,
    as_totals,
    assign,
    legacy_manifest,
    legacy_rows,
    legacy_totals,
    sum_totals,
)
from tests.plugins.graphql import GraphQL, row_id
from tests.plugins.jobs import WORKER, Start, kill, stalling, stop, until
from tests.plugins.world import World


async def test_a_part_killed_mid_file_is_retried_and_the_assembly_completes(
    cost_gql: GraphQL,
    world: World,
    cost_store: CostStore,
    owner_conn: psycopg.Connection,
    start_worker: Start,
    tmp_path: Path,
) -> None:
    admin = world.actor("billing_admin")
    accounts = [f"{uuid.uuid4().int % 10**12:012d}" for _ in range(3)]
    folder = tmp_path / "cur" / "report" / "20231101-20231201" / "k1"
    folder.mkdir(parents=True)
    parts = [write_legacy_csv(folder / f"report-{i}.csv", legacy_rows(accounts, 200, i)) for i in (1, 2, 3)]
    manifest = legacy_manifest(folder.parent, Path("/"), parts, LEGACY_HEADER, "k1")
    queued = (await cost_gql(admin, ASSEMBLY_IMPORT, {"manifest": str(manifest)}))["data"]["importCostAssembly"]
    assert queued["status"] == "QUEUED", queued
    marker = tmp_path / "stalled"
    doomed = start_worker(*stalling("import", marker))
    staging = await until(lambda: marker.exists() and marker.read_text(), "the first worker to be mid-part")
    kill(doomed)

    rescuer = start_worker(*WORKER)

    def finished() -> bool:
        row = owner_conn.execute("select status from cost_assemblies where id = %s", (row_id(queued["id"]),)).fetchone()
        return row is not None and row[0] not in ("queued", "publishing")

    await until(finished, "the second worker to finish the assembly", seconds=40)
    stop(rescuer)
    status = (await cost_gql(admin, ASSEMBLY_STATUS, {"id": queued["id"]}))["data"]["costAssembly"]
    assert (status["status"], status["partsDone"], status["rowsProcessed"]) == ("SUCCEEDED", 3, 600), status
    attempts = owner_conn.execute(
        "select max(j.attempts) from cost_imports i join procrastinate_jobs j on j.id = i.job_id"
        " where i.assembly_id = %s",
        (row_id(queued["id"]),),
    ).fetchone()
    assert attempts == (2,)  # the killed part: the dead attempt and the retry
    assert await asyncio.to_thread(Path(staging).is_dir)  # the retried part's folder, rewritten from empty
    await assign(cost_gql, world, accounts)
    costs = await cost_gql(admin, COSTS, {"period": "2023-11", "company": world.slugs["startup"]})
    assert as_totals(costs["data"]["costs"]) == sum_totals(parts, legacy_totals)
