"""Trusted documents over HTTP: a registered id runs, an unknown one is refused, trusted-only refuses any other
document before it is parsed (nothing runs), and a document over a limit cannot be registered."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from schema.trusted_documents import TrustedDocumentsInvalid
from tests.plugins.graphql import ClientFor, counting_checkouts, token_for
from tests.plugins.world import World

ME = "query Me { me { role } }"
RENAME = "mutation($i: CompanyProfileInput!) { updateCompanyProfile(input: $i) { __typename } }"
DEEP = '{ tenant(slug: "x") { ' + "profile { company { " * 10 + "slug" + " } }" * 10 + " } }"


def _id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _manifest(tmp_path: Path, *texts: str, keys: dict[str, str] | None = None) -> Path:
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps(keys if keys is not None else {f"sha256:{_id(t)}": t for t in texts}))
    return path


def _codes(response: httpx.Response) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]


def _owner(world: World) -> dict[str, str]:
    return {"authorization": f"Bearer {token_for(world.actor('startup_owner'))}"}


def _legal_name(owner_conn: psycopg.Connection, world: World) -> Any:
    row = owner_conn.execute(
        "select legal_name from company_profiles where tenant_id = %s", (world.tenants["startup"],)
    ).fetchone()
    return None if row is None else row[0]


async def test_a_registered_document_runs_from_its_id(client_for: ClientFor, world: World, tmp_path: Path) -> None:
    async with client_for(trusted_documents=_manifest(tmp_path, ME)) as client:
        by_id = await client.post("/graphql", json={"documentId": f"sha256:{_id(ME)}"}, headers=_owner(world))
        apollo = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": _id(ME)}}}
        by_apollo = await client.post("/graphql", json=apollo, headers=_owner(world))
        raw = await client.post("/graphql", json={"query": "{ me { role } }"}, headers=_owner(world))
    assert by_id.json() == by_apollo.json() == {"data": {"me": {"role": "OWNER"}}}
    assert "errors" not in raw.json()  # without trusted-only, other documents still run


async def test_an_unknown_id_is_refused_without_database_work(
    client_for: ClientFor, world: World, tmp_path: Path
) -> None:
    async with client_for(trusted_documents=_manifest(tmp_path, ME)) as client:
        with counting_checkouts(client) as taken:
            response = await client.post(
                "/graphql", json={"documentId": f"sha256:{_id('{ me { id } }')}"}, headers=_owner(world)
            )
            malformed = await client.post("/graphql", json={"documentId": "md5:abc"}, headers=_owner(world))
            mismatch = await client.post(
                "/graphql", json={"documentId": f"sha256:{_id(ME)}", "query": RENAME}, headers=_owner(world)
            )
    assert response.status_code == 400
    assert _codes(response) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert _codes(malformed) == _codes(mismatch) == ["BAD_REQUEST"]
    assert taken == []


async def test_trusted_only_refuses_an_unregistered_document_and_runs_nothing(
    client_for: ClientFor, world: World, tmp_path: Path, owner_conn: psycopg.Connection
) -> None:
    before = _legal_name(owner_conn, world)
    async with client_for(trusted_documents=_manifest(tmp_path, ME), trusted_documents_only=True) as client:
        with counting_checkouts(client) as taken:
            response = await client.post(
                "/graphql",
                json={"query": RENAME, "variables": {"i": {"legalName": "Hijacked"}}},
                headers=_owner(world),
            )
        registered_text = await client.post("/graphql", json={"query": ME}, headers=_owner(world))
    assert response.status_code == 400
    assert _codes(response) == ["DOCUMENT_NOT_TRUSTED"]
    assert taken == []
    assert _legal_name(owner_conn, world) == before
    assert registered_text.json() == {"data": {"me": {"role": "OWNER"}}}  # the registered text itself runs


async def test_trusted_only_needs_a_manifest(client_for: ClientFor) -> None:
    with pytest.raises(TrustedDocumentsInvalid, match="needs ROUNDPOOL_TRUSTED_DOCUMENTS"):
        async with client_for(trusted_documents_only=True):
            pass


async def test_a_document_over_a_limit_cannot_be_registered(client_for: ClientFor, tmp_path: Path) -> None:
    with pytest.raises(TrustedDocumentsInvalid, match="exceeds maximum operation depth"):
        async with client_for(trusted_documents=_manifest(tmp_path, ME, DEEP)):
            pass


async def test_an_invalid_document_cannot_be_registered(client_for: ClientFor, tmp_path: Path) -> None:
    with pytest.raises(TrustedDocumentsInvalid, match="Cannot query field 'nope'"):
        async with client_for(trusted_documents=_manifest(tmp_path, "{ nope }")):
            pass


async def test_a_key_that_is_not_the_documents_hash_is_refused(client_for: ClientFor, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, keys={f"sha256:{_id(RENAME)}": ME})
    with pytest.raises(TrustedDocumentsInvalid, match="not the sha256"):
        async with client_for(trusted_documents=manifest):
            pass
