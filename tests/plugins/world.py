"""A fresh set of tenants, users and grants per test (unique slugs, so tests never share rows).

Seeded as the owner: fixtures are setup, not the behaviour under test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import pytest


@dataclass(frozen=True)
class Actor:
    name: str
    user_id: UUID | None
    email: str | None
    tenant_id: UUID | None
    tenant_slug: str | None
    role: str | None


@dataclass
class World:
    suffix: str
    tenants: dict[str, UUID] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    grants: dict[str, UUID] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        return self.actors[name]


ANONYMOUS = Actor("anonymous", None, None, None, None, None)

# Actor name → (tenant key, role). The VC actors are owners of their VC so that only the grant decides.
ACTORS: dict[str, tuple[str, str]] = {
    "startup_owner": ("startup", "owner"),
    "startup_admin": ("startup", "admin"),
    "startup_member": ("startup", "member"),
    "startup_viewer": ("startup", "viewer"),
    "other_startup_owner": ("other_startup", "owner"),
    "vc_active": ("vc_active", "owner"),
    "vc_lacking_scope": ("vc_lacking_scope", "owner"),
    "vc_requested": ("vc_requested", "owner"),
    "vc_revoked": ("vc_revoked", "owner"),
    "vc_expired": ("vc_expired", "owner"),
    "billing_admin": ("operator", "billing_admin"),
}

# Grants from `startup` to each VC: (status, scopes, expires_at offset).
GRANTS: dict[str, tuple[str, list[str], timedelta | None]] = {
    "vc_active": ("active", ["company", "captable", "financials", "costs", "invoices"], None),
    "vc_lacking_scope": ("active", ["financials"], None),
    "vc_requested": ("requested", [], None),
    "vc_revoked": ("revoked", ["company", "captable", "financials", "costs", "invoices"], None),
    "vc_expired": ("active", ["company", "captable", "financials", "costs", "invoices"], timedelta(hours=-1)),
}


def build_world(conn: psycopg.Connection) -> World:
    world = World(suffix=uuid.uuid4().hex[:8])
    kinds = {
        "operator": "operator",
        "startup": "startup",
        "other_startup": "startup",
        **{vc: "vc" for vc in GRANTS},
    }
    with conn.transaction():
        for key, kind in kinds.items():
            slug = f"{key.replace('_', '-')}-{world.suffix}"
            operator = world.tenants.get("operator") if kind == "startup" else None
            row = conn.execute(
                "insert into tenants (slug, name, kind, operator_id) values (%s, %s, %s, %s) returning id",
                (slug, f"{key} {world.suffix}", kind, operator),
            ).fetchone()
            assert row is not None
            world.tenants[key], world.slugs[key] = row[0], slug
        for name, (tenant_key, role) in ACTORS.items():
            email = f"{name.replace('_', '-')}-{world.suffix}@example.com"
            row = conn.execute(
                "insert into users (email, display_name) values (%s, %s) returning id", (email, name)
            ).fetchone()
            assert row is not None
            conn.execute(
                "insert into memberships (tenant_id, user_id, role) values (%s, %s, %s)",
                (world.tenants[tenant_key], row[0], role),
            )
            world.actors[name] = Actor(name, row[0], email, world.tenants[tenant_key], world.slugs[tenant_key], role)
        for slug_key in ("startup", "other_startup"):
            conn.execute(
                "insert into company_profiles (tenant_id, legal_name, country) values (%s, %s, 'JP')",
                (world.tenants[slug_key], f"{slug_key} {world.suffix} K.K."),
            )
        for vc, (status, scopes, offset) in GRANTS.items():
            expires = datetime.now(UTC) + offset if offset is not None else None
            requested = scopes or ["company"]
            initial = "requested" if status == "requested" else "active"
            row = conn.execute(
                "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes, scopes, status, expires_at)"
                " values (%s, %s, %s, %s, %s, %s) returning id",
                (
                    world.tenants["startup"],
                    world.tenants[vc],
                    requested,
                    scopes if initial == "active" else [],
                    initial,
                    expires,
                ),
            ).fetchone()
            assert row is not None
            world.grants[vc] = row[0]
            if status == "revoked":
                conn.execute("update portfolio_grants set status = 'revoked' where id = %s", (row[0],))
    return world


@pytest.fixture
def make_world(owner_conn: psycopg.Connection) -> Callable[[], World]:
    return lambda: build_world(owner_conn)


@pytest.fixture
def world(make_world: Callable[[], World]) -> World:
    return make_world()


@contextmanager
def acting_as(conn: psycopg.Connection, actor: Actor) -> Iterator[psycopg.Connection]:
    """A transaction on a raw app-role connection with the actor's context bound, as the server binds it.
    Rolled back at the end unless the caller commits."""
    with conn.transaction(force_rollback=True):
        if actor.user_id is not None:
            conn.execute(
                "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)",
                (str(actor.user_id), str(actor.tenant_id) if actor.tenant_id else ""),
            )
        yield conn
