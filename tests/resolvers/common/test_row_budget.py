"""`costs` under many aliases, over HTTP: the rows of every alias count against one per-request budget
(ROUNDPOOL_MAX_RESPONSE_ROWS); past it the fields fail with ROW_BUDGET_EXCEEDED, within it they answer in full."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tests.plugins.costs import LEGACY_SAMPLE, RunJob, as_totals, assign, import_and_run, legacy_totals, shared_file
from tests.plugins.graphql import ClientFor, GraphQL, token_for
from tests.plugins.world import World

FIELDS = "account service currency billed"


def _aliased(count: int) -> str:
    field = f'costs(period: "2023-11", groupBy: [ACCOUNT, SERVICE], metrics: [BILLED]) {{ {FIELDS} }}'
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


async def test_aliases_share_one_row_budget(
    cost_gql: GraphQL,
    run_job: RunJob,
    world: World,
    client_for: ClientFor,
    tmp_path: Path,
    release_accounts: Callable[[Iterable[str]], None],
) -> None:
    path = shared_file(LEGACY_SAMPLE)
    expected = legacy_totals(path)
    release_accounts({a for a, _, _ in expected})
    job = await import_and_run(cost_gql, run_job, world, path)
    assert job["status"] == "SUCCEEDED", job
    await assign(cost_gql, world, job["accounts"])
    groups = len(expected)
    limit = 2 * groups + groups // 2  # two aliases fit, a third does not
    headers = {"authorization": f"Bearer {token_for(world.actor('startup_viewer'))}"}

    async with client_for(cost_store=str(tmp_path / "cost-store"), max_response_rows=limit) as client:
        within = (await client.post("/graphql", json={"query": _aliased(2)}, headers=headers)).json()
        beyond = await client.post("/graphql", json={"query": _aliased(10)}, headers=headers)

    assert "errors" not in within, within
    assert [as_totals(within["data"][f"a{i}"]) for i in range(2)] == [expected, expected]
    body: dict[str, Any] = beyond.json()
    assert beyond.status_code == 200
    # the aliases within the budget keep their rows; every one past it is refused without computing anything
    assert [as_totals(body["data"][f"a{i}"]) for i in range(2)] == [expected, expected]
    assert [body["data"][f"a{i}"] for i in range(2, 10)] == [None] * 8
    assert [e["path"] for e in body["errors"]] == [[f"a{i}"] for i in range(2, 10)]
    for error in body["errors"]:
        assert error["extensions"]["code"] == "ROW_BUDGET_EXCEEDED"
        assert f"more than {limit} rows" in error["message"]
        assert "ROUNDPOOL_MAX_RESPONSE_ROWS" in error["message"]
