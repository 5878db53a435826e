"""The isolation matrix in SQL, as the app role, straight against the policies.

For every tenant table, every context (the world's 11 actors, no context at all, a tenant without a user, a
user that does not exist, and real users claiming a tenant they do not belong to) and every statement kind,
exactly the allowed rows are visible or changed. Writes are committed (so the owner connection can see what
really happened) and undone by the owner afterwards; every refusal is checked against an owner snapshot of the
table, taken before and after the statement.

The world used here is the shared `build_world` plus a few rows that make the matrix discriminating: a
`lone_startup` with no members and no operator, a company profile and a `seed` audit event in every tenant, a
requested grant other_startup → vc_requested, a `spare` user who belongs to no tenant, and invitations in
every state (see INVITATIONS).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import psycopg.errors
import pytest
from psycopg.rows import dict_row

from tests.plugins.database import connect
from tests.plugins.world import ACTORS, World, acting_as, build_world

pytestmark = pytest.mark.via_pgbouncer  # every test again through PgBouncer (tests/plugins/pgbouncer.py)

SET_CONTEXT = "select set_config('app.user_id', %s, true), set_config('app.tenant_id', %s, true)"

KINDS = {
    "operator": "operator",
    "startup": "startup",
    "other_startup": "startup",
    "vc_active": "vc",
    "vc_lacking_scope": "vc",
    "vc_requested": "vc",
    "vc_revoked": "vc",
    "vc_expired": "vc",
    "lone_startup": "startup",
}
TENANT_KEYS = tuple(KINDS)
VCS = ("vc_active", "vc_lacking_scope", "vc_requested", "vc_revoked", "vc_expired")
STAFF = ("startup_owner", "startup_admin", "startup_member", "startup_viewer")
STARTUP_GRANTS = {("startup", vc) for vc in VCS}


# Contexts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """What a transaction binds: `user` is an actor name (or 'ghost', a user id that does not exist),
    `tenant` a tenant key; `bound=False` binds nothing at all."""

    name: str
    user: str | None
    tenant: str | None
    bound: bool = True


CONTEXTS: tuple[Ctx, ...] = (
    *(Ctx(name, name, tenant) for name, (tenant, _role) in ACTORS.items()),
    Ctx("anonymous", None, None, bound=False),
    Ctx("tenant_only", None, "startup"),  # app.tenant_id set, app.user_id empty
    Ctx("ghost", "ghost", "startup"),  # a user id that exists nowhere, claiming the startup
    Ctx("forged_owner", "startup_owner", "other_startup"),  # a real owner claiming a foreign startup
    Ctx("forged_grantee", "vc_active", "startup"),  # the granted VC claiming to be the startup
    Ctx("forged_billing", "billing_admin", "startup"),  # the billing admin claiming a billed startup
)
CONTEXT_NAMES = {c.name for c in CONTEXTS}
GHOST = UUID("00000000-0000-4000-8000-00000000dead")


# Expected visibility (SELECT), written out ------------------------------------------------------------
# Each table maps context → the "groups" of rows it must see (and nothing else, anywhere in the database).
# Contexts not listed see nothing.

TENANTS_VISIBLE: dict[str, set[str]] = {
    # own membership + acting + grant counterparties (any status) + billed tenants + tenants inviting one
    # (pending, unexpired invitations only)
    **{a: {"startup", *VCS} for a in STAFF},
    "startup_viewer": {"startup", *VCS, "other_startup"},
    "other_startup_owner": {"other_startup", "vc_requested", "startup"},
    "vc_active": {"vc_active", "startup"},
    "vc_lacking_scope": {"vc_lacking_scope", "startup"},
    "vc_requested": {"vc_requested", "startup", "other_startup"},
    "vc_revoked": {"vc_revoked", "startup"},
    "vc_expired": {"vc_expired", "startup"},
    "billing_admin": {"operator", "startup", "other_startup"},  # lone_startup has no operator
    # a forged tenant gets nothing; the user still sees the tenants they really belong to
    "forged_owner": {"startup"},
    "forged_grantee": {"vc_active"},
    "forged_billing": {"operator"},
}

USERS_VISIBLE: dict[str, set[str]] = {
    # self + co-members of the acting tenant; `spare` (no membership) is seen by nobody
    **{a: set(STAFF) for a in STAFF},
    **{a: {a} for a in ("other_startup_owner", *VCS, "billing_admin")},
    "forged_owner": {"startup_owner"},
    "forged_grantee": {"vc_active"},
    "forged_billing": {"billing_admin"},
}

MEMBERSHIPS_VISIBLE: dict[str, set[tuple[str, str]]] = {
    # own rows + the acting tenant's rows
    **{a: {("startup", s) for s in STAFF} for a in STAFF},
    **{a: {(ACTORS[a][0], a)} for a in ("other_startup_owner", *VCS, "billing_admin")},
    "forged_owner": {("startup", "startup_owner")},
    "forged_grantee": {("vc_active", "vc_active")},
    "forged_billing": {("operator", "billing_admin")},
}

GRANTS_VISIBLE: dict[str, set[tuple[str, str]]] = {
    # (startup, vc): both sides see the grant, whatever its status
    **{a: set(STARTUP_GRANTS) for a in STAFF},
    "other_startup_owner": {("other_startup", "vc_requested")},
    "vc_active": {("startup", "vc_active")},
    "vc_lacking_scope": {("startup", "vc_lacking_scope")},
    "vc_requested": {("startup", "vc_requested"), ("other_startup", "vc_requested")},
    "vc_revoked": {("startup", "vc_revoked")},
    "vc_expired": {("startup", "vc_expired")},
}

AUDIT_VISIBLE: dict[str, set[str]] = {
    # owners and admins of the acting tenant only (every VC actor is its VC's owner)
    "startup_owner": {"startup"},
    "startup_admin": {"startup"},
    "other_startup_owner": {"other_startup"},
    **{vc: {vc} for vc in VCS},
}

PROFILES_VISIBLE: dict[str, set[str]] = {
    # own tenant + startups with an active, unexpired grant carrying 'company'
    **{a: {"startup"} for a in STAFF},
    "other_startup_owner": {"other_startup"},
    "vc_active": {"vc_active", "startup"},
    "vc_lacking_scope": {"vc_lacking_scope"},  # its grant has only 'financials'
    "vc_requested": {"vc_requested"},
    "vc_revoked": {"vc_revoked"},
    "vc_expired": {"vc_expired"},
    "billing_admin": {"operator"},
}

# Invitations of the world: (inviting tenant, invitee) → status, with the inviting admin. "lapsed" is pending
# past its expiry; "unknown" is an address no user has.
INVITATIONS: dict[tuple[str, str], str] = {
    ("startup", "other_startup_owner"): "pending",
    ("startup", "vc_active"): "revoked",
    ("startup", "vc_expired"): "lapsed",
    ("startup", "unknown"): "pending",
    ("other_startup", "startup_viewer"): "pending",
}
INVITERS = {"startup": "startup_admin", "other_startup": "other_startup_owner"}

INVITATIONS_VISIBLE: dict[str, set[tuple[str, str]]] = {
    # the inviting tenant's owners and admins: all of its invitations; an invitee: those to its address
    "startup_owner": {k for k in INVITATIONS if k[0] == "startup"},
    "startup_admin": {k for k in INVITATIONS if k[0] == "startup"},
    "other_startup_owner": {("other_startup", "startup_viewer"), ("startup", "other_startup_owner")},
    "startup_viewer": {("other_startup", "startup_viewer")},
    "vc_active": {("startup", "vc_active")},
    "vc_expired": {("startup", "vc_expired")},
    "forged_grantee": {("startup", "vc_active")},  # by address, whatever tenant it claims
    "forged_owner": set(),
}
# accept/decline: only the invitee, only while pending and unexpired; final or lapsed ones raise.
INVITATION_ANSWERS: dict[str, set[tuple[str, str]]] = {
    "other_startup_owner": {("startup", "other_startup_owner")},
    "startup_viewer": {("other_startup", "startup_viewer")},
}
INVITATION_REFUSED_ANSWERS: dict[str, set[tuple[str, str]]] = {
    "vc_active": {("startup", "vc_active")},
    "vc_expired": {("startup", "vc_expired")},
    "forged_grantee": {("startup", "vc_active")},
}

VISIBLE: dict[str, dict[str, set[Any]]] = {
    "tenants": TENANTS_VISIBLE,
    "users": USERS_VISIBLE,
    "memberships": MEMBERSHIPS_VISIBLE,
    "portfolio_grants": GRANTS_VISIBLE,
    "audit_events": AUDIT_VISIBLE,
    "company_profiles": PROFILES_VISIBLE,
    "invitations": INVITATIONS_VISIBLE,
}

# Expected writes, written out -------------------------------------------------------------------------
# Owners and admins with a valid context: the only ones who write tenant rows (each in its own tenant).
ADMIN_OF: dict[str, str] = {
    "startup_owner": "startup",
    "startup_admin": "startup",
    "other_startup_owner": "other_startup",
    **{vc: vc for vc in VCS},
}
OWNER_OF: dict[str, str] = {a: t for a, t in ADMIN_OF.items() if a != "startup_admin"}

# tenants: only the owner renames, only the acting tenant.
TENANT_RENAMES: dict[str, set[str]] = {a: {t} for a, t in OWNER_OF.items()}
# users: anyone with a real user renames themselves (a forged tenant does not matter for one's own user).
USER_RENAMES: dict[str, set[str]] = {
    **{a: {a} for a in ACTORS},
    "forged_owner": {"startup_owner"},
    "forged_grantee": {"vc_active"},
    "forged_billing": {"billing_admin"},
}
# users: nobody creates users through the app role (a unique violation would tell whether an address exists).
USER_CREATORS: set[str] = set()
# memberships: nobody inserts them directly; a membership is created only by accepting an invitation.
MEMBER_INSERTS: dict[str, set[str]] = {}
# invitations insert: owners and admins, into the acting tenant only.
INVITATION_INSERTS: dict[str, set[str]] = {a: {t} for a, t in ADMIN_OF.items()}
# memberships (update role to a non-owner role / delete): admins of the acting tenant, owners' rows only by owners.
MEMBER_CHANGES: dict[str, set[tuple[str, str]]] = {
    "startup_owner": {("startup", s) for s in STAFF},
    "startup_admin": {("startup", s) for s in ("startup_admin", "startup_member", "startup_viewer")},
    "other_startup_owner": {("other_startup", "other_startup_owner")},
    **{vc: {(vc, vc)} for vc in VCS},
}
# portfolio_grants insert (a request to lone_startup): a VC's admin, for its own VC only.
GRANT_REQUESTS: dict[str, set[str]] = {vc: {vc} for vc in VCS}
# portfolio_grants update: the granting startup's admins (a revoked grant stays revoked: the trigger refuses).
GRANT_DECISIONS: dict[str, set[tuple[str, str]]] = {
    "startup_owner": set(STARTUP_GRANTS),
    "startup_admin": set(STARTUP_GRANTS),
    "other_startup_owner": {("other_startup", "vc_requested")},
}
# company_profiles insert: admins of the acting tenant if it is a startup.
PROFILE_INSERTS: dict[str, set[str]] = {
    "startup_owner": {"startup"},
    "startup_admin": {"startup"},
    "other_startup_owner": {"other_startup"},
}
# company_profiles update: admins of the acting tenant (never a grantee).
PROFILE_UPDATES: dict[str, set[str]] = {a: {t} for a, t in ADMIN_OF.items()}


def test_expected_tables_name_only_known_contexts() -> None:
    tables = [
        *VISIBLE.values(),
        TENANT_RENAMES,
        USER_RENAMES,
        MEMBER_INSERTS,
        MEMBER_CHANGES,
        GRANT_REQUESTS,
        GRANT_DECISIONS,
        PROFILE_INSERTS,
        PROFILE_UPDATES,
        INVITATION_INSERTS,
        INVITATION_ANSWERS,
        INVITATION_REFUSED_ANSWERS,
    ]
    for table in tables:
        assert set(table) <= CONTEXT_NAMES, set(table) - CONTEXT_NAMES
    assert USER_CREATORS <= CONTEXT_NAMES


# The world --------------------------------------------------------------------------------------------


@dataclass
class SqlWorld:
    base: World
    tenants: dict[str, UUID] = field(default_factory=dict)
    users: dict[str, UUID] = field(default_factory=dict)
    grants: dict[UUID, tuple[str, str]] = field(default_factory=dict)
    invitations: dict[tuple[str, str], UUID] = field(default_factory=dict)

    @property
    def suffix(self) -> str:
        return self.base.suffix

    def tkey(self, tenant_id: UUID) -> str:
        for key, value in self.tenants.items():
            if value == tenant_id:
                return key
        return f"foreign:{tenant_id}"

    def ukey(self, user_id: UUID) -> str:
        for key, value in self.users.items():
            if value == user_id:
                return key
        return f"foreign:{user_id}"

    def email_key(self, email: str) -> str:
        for name, actor in self.base.actors.items():
            if actor.email == email:
                return name
        return "unknown" if email == unknown_email(self.suffix) else f"foreign:{email}"

    def grant_id(self, pair: tuple[str, str]) -> UUID:
        return next(g for g, p in self.grants.items() if p == pair)


def unknown_email(suffix: str) -> str:
    return f"unknown-{suffix}@example.com"


def _seed_invitations(owner: psycopg.Connection, sw: SqlWorld) -> None:
    """Filed under each inviter's context (as the API files them), then moved to their state as the owner."""
    for (tenant, invitee), status in INVITATIONS.items():
        email = unknown_email(sw.suffix) if invitee == "unknown" else sw.base.actor(invitee).email
        owner.execute(SET_CONTEXT, (str(sw.users[INVITERS[tenant]]), str(sw.tenants[tenant])))
        row = owner.execute(
            "insert into invitations (tenant_id, email, role) values (%s, %s, 'member') returning id",
            (sw.tenants[tenant], email),
        ).fetchone()
        assert row is not None
        sw.invitations[(tenant, invitee)] = row[0]
        if status == "revoked":
            owner.execute("update invitations set status = 'revoked', responded_at = now() where id = %s", (row[0],))
        if status == "lapsed":
            owner.execute("update invitations set expires_at = now() - interval '1 hour' where id = %s", (row[0],))
    owner.execute(SET_CONTEXT, ("", ""))


def build_sql_world(owner: psycopg.Connection) -> SqlWorld:
    base = build_world(owner)
    sw = SqlWorld(base=base, tenants=dict(base.tenants))
    sw.users = {name: actor.user_id for name, actor in base.actors.items() if actor.user_id is not None}
    sw.grants = {gid: ("startup", vc) for vc, gid in base.grants.items()}
    with owner.transaction():
        row = owner.execute(
            "insert into tenants (slug, name, kind) values (%s, %s, 'startup') returning id",
            (f"lone-startup-{base.suffix}", f"lone_startup {base.suffix}"),
        ).fetchone()
        assert row is not None
        sw.tenants["lone_startup"] = row[0]
        row = owner.execute(
            "insert into users (email, display_name) values (%s, 'spare') returning id",
            (f"spare-{base.suffix}@example.com",),
        ).fetchone()
        assert row is not None
        sw.users["spare"] = row[0]
        for key, tenant_id in sw.tenants.items():
            owner.execute(
                "insert into company_profiles (tenant_id, legal_name) values (%s, %s)"
                " on conflict (tenant_id) do nothing",
                (tenant_id, f"{key} {base.suffix} profile"),
            )
            owner.execute(
                "insert into audit_events (tenant_id, action, subject_type) values (%s, 'seed', 'test')",
                (tenant_id,),
            )
        row = owner.execute(
            "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes) values (%s, %s, '{captable}')"
            " returning id",
            (sw.tenants["other_startup"], sw.tenants["vc_requested"]),
        ).fetchone()
        assert row is not None
        sw.grants[row[0]] = ("other_startup", "vc_requested")
        _seed_invitations(owner, sw)
    return sw


@pytest.fixture
def sw(owner_conn: psycopg.Connection) -> SqlWorld:
    return build_sql_world(owner_conn)


@pytest.fixture
def app(app_url: str) -> Iterator[psycopg.Connection]:
    """The app role in autocommit: each attempt below is its own explicit transaction."""
    with connect(app_url, autocommit=True) as conn:
        yield conn


# Statements as a context ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    rowcount: int
    rows: list[tuple[Any, ...]]
    error: psycopg.Error | None

    def describe(self) -> str:
        if self.error is not None:
            return f"{type(self.error).__name__}: {str(self.error).splitlines()[0]}"
        return f"{self.rowcount} row(s)"


def bind(conn: psycopg.Connection, sw: SqlWorld, ctx: Ctx) -> None:
    if not ctx.bound:
        return
    user = "" if ctx.user is None else str(GHOST if ctx.user == "ghost" else sw.users[ctx.user])
    tenant = "" if ctx.tenant is None else str(sw.tenants[ctx.tenant])
    conn.execute(SET_CONTEXT, (user, tenant))


def attempt(
    conn: psycopg.Connection, sw: SqlWorld, ctx: Ctx, sql: str, params: Any = None, *, commit: bool = True
) -> Outcome:
    """One statement in its own transaction under `ctx`; committed unless `commit=False`."""
    try:
        with conn.transaction(force_rollback=not commit):
            bind(conn, sw, ctx)
            cur = conn.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
            return Outcome(cur.rowcount, rows, None)
    except psycopg.Error as error:
        return Outcome(-1, [], error)


# Owner snapshots (behind the policies' back), keyed by world names -------------------------------------


@dataclass(frozen=True)
class Table:
    name: str
    columns: str
    scope: str  # restricts the owner's snapshot to this world's rows
    key: Callable[[SqlWorld, dict[str, Any]], Any]
    group: Callable[[Any], Any]  # the key's group as named in the VISIBLE tables


TABLES: dict[str, Table] = {
    "tenants": Table(
        "tenants",
        "id, slug, name, kind, operator_id",
        "id = any(%(t)s) or slug like %(slugs)s",
        lambda sw, r: sw.tkey(r["id"]),
        lambda k: k,
    ),
    "users": Table(
        "users",
        "id, email, display_name",
        "id = any(%(u)s) or email like %(emails)s",
        lambda sw, r: sw.ukey(r["id"]) if r["id"] in sw.users.values() else f"new:{r['email']}",
        lambda k: k,
    ),
    "memberships": Table(
        "memberships",
        "tenant_id, user_id, role, created_at",
        "tenant_id = any(%(t)s)",
        lambda sw, r: (sw.tkey(r["tenant_id"]), sw.ukey(r["user_id"])),
        lambda k: k,
    ),
    "portfolio_grants": Table(
        "portfolio_grants",
        "tenant_id, id, vc_tenant_id, requested_scopes, scopes, status, expires_at, requested_by, decided_by",
        "tenant_id = any(%(t)s) or vc_tenant_id = any(%(t)s)",
        lambda sw, r: (sw.tkey(r["tenant_id"]), sw.tkey(r["vc_tenant_id"]), str(r["id"])),
        lambda k: k[:2],
    ),
    "audit_events": Table(
        "audit_events",
        "tenant_id, id, action, subject_type, subject_id, details",
        "tenant_id = any(%(t)s)",
        lambda sw, r: (sw.tkey(r["tenant_id"]), r["id"]),
        lambda k: k[0],
    ),
    "company_profiles": Table(
        "company_profiles",
        "tenant_id, legal_name, country, founded_on, sector, stage, website, updated_at",
        "tenant_id = any(%(t)s)",
        lambda sw, r: sw.tkey(r["tenant_id"]),
        lambda k: k,
    ),
    "invitations": Table(
        "invitations",
        "tenant_id, id, email, role, status, expires_at, invited_by, accepted_by, responded_at",
        "tenant_id = any(%(t)s)",
        lambda sw, r: (sw.tkey(r["tenant_id"]), sw.email_key(r["email"]), str(r["id"])),
        lambda k: k[:2],
    ),
}


def snapshot(owner: psycopg.Connection, sw: SqlWorld, table: str) -> dict[Any, dict[str, Any]]:
    spec = TABLES[table]
    params = {
        "t": list(sw.tenants.values()),
        "u": list(sw.users.values()),
        "slugs": f"%-{sw.suffix}",
        "emails": f"%-{sw.suffix}@example.com",
    }
    with owner.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"select {spec.columns} from {spec.name} where {spec.scope}", params).fetchall()
    snap = {spec.key(sw, r): r for r in rows}
    assert len(snap) == len(rows), f"{table}: snapshot keys are not unique"
    return snap


def changed(before: dict[Any, Any], after: dict[Any, Any]) -> set[Any]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def restore(owner: psycopg.Connection, table: str, before: dict[Any, Any], after: dict[Any, Any]) -> None:
    """Undo, as the owner, whatever a committed attempt changed (expected or not), so the next attempt starts
    from the seeded world."""
    for key in changed(before, after):
        old, new = before.get(key), after.get(key)
        if table == "tenants" and old and new:
            owner.execute("update tenants set name = %s where id = %s", (old["name"], old["id"]))
        elif table == "users" and old and new:
            owner.execute("update users set display_name = %s where id = %s", (old["display_name"], old["id"]))
        elif table == "users" and new:
            owner.execute("delete from users where id = %s", (new["id"],))
        elif table == "memberships" and old and new:
            owner.execute(
                "update memberships set role = %s where tenant_id = %s and user_id = %s",
                (old["role"], old["tenant_id"], old["user_id"]),
            )
        elif table == "memberships" and old:
            owner.execute(
                "insert into memberships (tenant_id, user_id, role, created_at) values (%s, %s, %s, %s)",
                (old["tenant_id"], old["user_id"], old["role"], old["created_at"]),
            )
        elif table == "memberships" and new:
            owner.execute(
                "delete from memberships where tenant_id = %s and user_id = %s", (new["tenant_id"], new["user_id"])
            )
        elif table == "portfolio_grants" and old and new:
            owner.execute(
                "update portfolio_grants set scopes = %s, status = %s, expires_at = %s, decided_by = %s"
                " where tenant_id = %s and id = %s",
                (old["scopes"], old["status"], old["expires_at"], old["decided_by"], old["tenant_id"], old["id"]),
            )
        elif table == "portfolio_grants" and new:
            owner.execute(
                "delete from portfolio_grants where tenant_id = %s and id = %s", (new["tenant_id"], new["id"])
            )
        elif table == "company_profiles" and old and new:
            owner.execute(
                "update company_profiles set legal_name = %s where tenant_id = %s",
                (old["legal_name"], old["tenant_id"]),
            )
        elif table == "company_profiles" and new:
            owner.execute("delete from company_profiles where tenant_id = %s", (new["tenant_id"],))
        elif table == "invitations" and new and not old:
            owner.execute("delete from invitations where tenant_id = %s and id = %s", (new["tenant_id"], new["id"]))
        else:
            raise AssertionError(f"cannot restore {table} {key}: {old} → {new}")


REFUSED = psycopg.errors.InsufficientPrivilege


@dataclass
class Matrix:
    """Runs committed write attempts and collects every deviation, so one run reports the whole matrix."""

    owner: psycopg.Connection
    app: psycopg.Connection
    sw: SqlWorld
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    def write(
        self,
        ctx: Ctx,
        table: str,
        sql: str,
        params: Any,
        *,
        allowed: bool,
        changes: set[Any] | None = None,
        refusal: type[psycopg.Error] | tuple[type[psycopg.Error], ...] | None = None,
        label: str = "",
    ) -> Outcome:
        """allowed → exactly `changes` (keys of `table`) changed, seen by the owner after commit.
        denied  → `refusal` raised, or (refusal None) zero rows affected; the owner sees the table unchanged."""
        before = snapshot(self.owner, self.sw, table)
        outcome = attempt(self.app, self.sw, ctx, sql, params)
        after = snapshot(self.owner, self.sw, table)
        diff = changed(before, after)
        where = f"{table} {label} as {ctx.name}: {outcome.describe()}"
        self.checked += 1
        if allowed:
            if outcome.error is not None or outcome.rowcount != 1:
                self.problems.append(f"ALLOWED but not done — {where}")
            elif changes is not None and diff != changes:
                self.problems.append(f"ALLOWED but changed {sorted(map(str, diff))}, expected {changes} — {where}")
        else:
            if refusal is None and (outcome.error is not None or outcome.rowcount != 0):
                self.problems.append(f"DENIED should affect 0 rows without error — {where}")
            if refusal is not None and not isinstance(outcome.error, refusal):
                self.problems.append(f"DENIED should raise {refusal} — {where}")
            if diff:
                self.problems.append(f"DENIED but rows changed {sorted(map(str, diff))} — {where}")
        if diff:
            restore(self.owner, table, before, after)
            assert not changed(before, snapshot(self.owner, self.sw, table)), f"restore failed: {where}"
        return outcome

    def assert_clean(self) -> None:
        assert self.checked > 0
        assert not self.problems, f"{len(self.problems)} of {self.checked} checks failed:\n" + "\n".join(self.problems)


@pytest.fixture
def matrix(owner_conn: psycopg.Connection, app: psycopg.Connection, sw: SqlWorld) -> Matrix:
    return Matrix(owner_conn, app, sw)


# SELECT -----------------------------------------------------------------------------------------------


def test_the_world_has_rows_everywhere_the_matrix_looks(owner_conn: psycopg.Connection, sw: SqlWorld) -> None:
    """Otherwise an empty expected set could pass by accident."""
    for table in ("audit_events", "company_profiles"):
        groups = {TABLES[table].group(k) for k in snapshot(owner_conn, sw, table)}
        assert groups == set(TENANT_KEYS), table
    grants = {TABLES["portfolio_grants"].group(k) for k in snapshot(owner_conn, sw, "portfolio_grants")}
    assert grants == STARTUP_GRANTS | {("other_startup", "vc_requested")}
    assert len(snapshot(owner_conn, sw, "memberships")) == len(ACTORS)
    assert {TABLES["invitations"].group(k) for k in snapshot(owner_conn, sw, "invitations")} == set(INVITATIONS)
    assert set(snapshot(owner_conn, sw, "users")) == {*ACTORS, "spare"}


@pytest.mark.parametrize("table", list(TABLES))
def test_select_shows_exactly_the_allowed_rows(
    table: str, owner_conn: psycopg.Connection, app: psycopg.Connection, sw: SqlWorld
) -> None:
    spec = TABLES[table]
    everything = snapshot(owner_conn, sw, table)
    problems = []
    for ctx in CONTEXTS:
        groups = VISIBLE[table].get(ctx.name, set())
        expected = {k for k in everything if spec.group(k) in groups}
        assert {spec.group(k) for k in expected} == groups, f"{table}/{ctx.name}: the world lacks rows to see"
        # the whole table, no filter: rows of other tests' worlds must not show either
        outcome = attempt(app, sw, ctx, f"select {spec.columns} from {table}", commit=False)
        assert outcome.error is None, f"{table} as {ctx.name}: {outcome.describe()}"
        names = [c.strip() for c in spec.columns.split(",")]
        seen = {spec.key(sw, dict(zip(names, row, strict=True))) for row in outcome.rows}
        if seen != expected:
            problems.append(
                f"{table} as {ctx.name}: unexpected {sorted(map(str, seen - expected))[:5]},"
                f" missing {sorted(map(str, expected - seen))[:5]}"
            )
        # and the rows seen are the real rows, not placeholders
        for row in outcome.rows:
            record = dict(zip(names, row, strict=True))
            key = spec.key(sw, record)
            if key in everything and everything[key] != record:
                problems.append(f"{table} as {ctx.name}: row {key} differs from the owner's view")
    assert not problems, "\n".join(problems)


def test_a_bound_context_is_transaction_local(app: psycopg.Connection, sw: SqlWorld) -> None:
    """After the owner's transaction ends, the next one on the same connection sees nothing."""
    owner_ctx = next(c for c in CONTEXTS if c.name == "startup_owner")
    inside = attempt(app, sw, owner_ctx, "select count(*) from company_profiles", commit=True)
    after = attempt(app, sw, Ctx("anonymous", None, None, bound=False), "select count(*) from company_profiles")
    assert inside.rows == [(1,)]
    assert after.rows == [(0,)]


# INSERT -----------------------------------------------------------------------------------------------


def test_insert_tenants_is_refused_to_everyone(matrix: Matrix) -> None:
    for ctx in CONTEXTS:
        matrix.write(
            ctx,
            "tenants",
            "insert into tenants (slug, name, kind) values (%s, %s, 'startup')",
            (f"new-{ctx.name.replace('_', '-')}-{matrix.sw.suffix}", "new"),
            allowed=False,
            refusal=REFUSED,
        )
    matrix.assert_clean()


def test_insert_users_only_by_admins(matrix: Matrix) -> None:
    for ctx in CONTEXTS:
        email = f"new-{ctx.name.replace('_', '-')}-{matrix.sw.suffix}@example.com"
        allowed = ctx.name in USER_CREATORS
        matrix.write(
            ctx,
            "users",
            "insert into users (email, display_name) values (%s, 'new')",
            (email,),
            allowed=allowed,
            changes={f"new:{email}"},
            refusal=None if allowed else REFUSED,
        )
    matrix.assert_clean()


def test_insert_memberships_only_by_admins_into_the_acting_tenant(matrix: Matrix) -> None:
    sw = matrix.sw
    for ctx in CONTEXTS:
        for target in TENANT_KEYS:
            allowed = target in MEMBER_INSERTS.get(ctx.name, set())
            matrix.write(
                ctx,
                "memberships",
                "insert into memberships (tenant_id, user_id, role) values (%s, %s, 'member')",
                (sw.tenants[target], sw.users["spare"]),
                allowed=allowed,
                changes={(target, "spare")},
                refusal=None if allowed else REFUSED,
                label=f"into {target}",
            )
    matrix.assert_clean()


def test_insert_invitations_only_by_admins_into_the_acting_tenant(
    matrix: Matrix, owner_conn: psycopg.Connection
) -> None:
    """The refusal is the same whatever the address (a member of the target or nobody's), so a stranger learns
    nothing of another tenant's members; an accepted insert is audited in the inviting tenant's trail."""
    sw = matrix.sw
    for ctx in CONTEXTS:
        for target in TENANT_KEYS:
            for email in (sw.base.actor("startup_member").email, f"new-{sw.suffix}@example.com"):
                allowed = target in INVITATION_INSERTS.get(ctx.name, set())
                member_of_target = email == sw.base.actor("startup_member").email and target == "startup"
                audit_before = snapshot(owner_conn, sw, "audit_events")
                outcome = matrix.write(
                    ctx,
                    "invitations",
                    "insert into invitations (tenant_id, email, role) values (%s, %s, 'member')",
                    (sw.tenants[target], email),
                    allowed=allowed and not member_of_target,
                    refusal=(
                        None
                        if allowed and not member_of_target
                        else psycopg.errors.UniqueViolation
                        if allowed
                        else REFUSED
                    ),
                    label=f"into {target} for {email}",
                )
                new_audit = {k[0] for k in changed(audit_before, snapshot(owner_conn, sw, "audit_events"))}
                assert new_audit == ({target} if outcome.error is None else set()), (ctx.name, target, new_audit)
    matrix.assert_clean()


def test_update_invitations_is_refused_to_everyone(matrix: Matrix) -> None:
    """Only the answering functions change an invitation."""
    sw = matrix.sw
    for ctx in CONTEXTS:
        for key, invitation_id in sw.invitations.items():
            matrix.write(
                ctx,
                "invitations",
                "update invitations set status = 'accepted' where id = %s",
                (invitation_id,),
                allowed=False,
                refusal=REFUSED,
                label=str(key),
            )
    matrix.assert_clean()


@pytest.mark.parametrize("function", ["accept_invitation", "decline_invitation"])
def test_only_the_invitee_answers_and_only_while_pending(function: str, app: psycopg.Connection, sw: SqlWorld) -> None:
    """Accepting creates exactly the invited membership for the caller; anybody else gets no row. Each attempt
    is rolled back, so every context meets the seeded world."""
    membership = "select role from memberships where tenant_id = %s and user_id = app.current_user_id()"
    problems = []
    for ctx in CONTEXTS:
        for key, invitation_id in sw.invitations.items():
            allowed = key in INVITATION_ANSWERS.get(ctx.name, set())
            refused = key in INVITATION_REFUSED_ANSWERS.get(ctx.name, set())
            try:
                with app.transaction(force_rollback=True):
                    bind(app, sw, ctx)
                    already = app.execute(membership, (sw.tenants[key[0]],)).fetchall()
                    rows = app.execute(f"select status from app.{function}(%s)", (invitation_id,)).fetchall()
                    joined = app.execute(membership, (sw.tenants[key[0]],)).fetchall()
                error: psycopg.Error | None = None
            except psycopg.Error as raised:
                rows, already, joined, error = [], [], [], raised
            label = f"{function} {key} as {ctx.name}"
            if allowed:
                expected = [("accepted",)] if function == "accept_invitation" else [("declined",)]
                if error is not None or rows != expected:
                    problems.append(f"ALLOWED but got {rows} {error!r} — {label}")
                if function == "accept_invitation" and joined != [("member",)]:
                    problems.append(f"accepted without the invited membership: {joined} — {label}")
            elif refused:
                if not isinstance(error, psycopg.errors.CheckViolation):
                    problems.append(f"a final or lapsed invitation should raise CheckViolation: {error!r} — {label}")
            elif error is not None or rows:
                problems.append(f"DENIED should return no row: {rows} {error!r} — {label}")
            if not allowed and joined != already:
                problems.append(f"a non-invitee joined: {joined} — {label}")
    assert not problems, "\n".join(problems)


def test_revoke_invitation_only_by_the_inviting_tenants_admins(app: psycopg.Connection, sw: SqlWorld) -> None:
    problems = []
    for ctx in CONTEXTS:
        for key, invitation_id in sw.invitations.items():
            outcome = attempt(
                app, sw, ctx, "select status from app.revoke_invitation(%s)", (invitation_id,), commit=False
            )
            admin = ADMIN_OF.get(ctx.name) == key[0]
            if admin and INVITATIONS[key] == "revoked":
                ok = isinstance(outcome.error, psycopg.errors.CheckViolation)
            elif admin:
                ok = outcome.error is None and outcome.rows == [("revoked",)]
            else:
                ok = outcome.error is None and outcome.rows == []
            if not ok:
                problems.append(f"revoke {key} as {ctx.name}: {outcome.describe()} {outcome.rows}")
    assert not problems, "\n".join(problems)


def test_insert_portfolio_grants_only_as_the_acting_vc(matrix: Matrix, owner_conn: psycopg.Connection) -> None:
    """A request to lone_startup naming each tenant as the VC. A refused insert leaves no audit event either
    (the trigger's events roll back with the statement)."""
    sw = matrix.sw
    for ctx in CONTEXTS:
        for target in TENANT_KEYS:
            if target == "lone_startup":
                continue
            allowed = target in GRANT_REQUESTS.get(ctx.name, set())
            audit_before = snapshot(owner_conn, sw, "audit_events")
            outcome = matrix.write(
                ctx,
                "portfolio_grants",
                "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes) values (%s, %s, '{company}')",
                (sw.tenants["lone_startup"], sw.tenants[target]),
                allowed=allowed,
                # a non-VC target fails the trigger's kind check, which runs before the policy
                refusal=None
                if allowed
                else (REFUSED if KINDS[target] == "vc" else (REFUSED, psycopg.errors.CheckViolation)),
                label=f"for vc {target}",
            )
            new_audit = {k[0] for k in changed(audit_before, snapshot(owner_conn, sw, "audit_events"))}
            expected_audit = {"lone_startup", target} if allowed and outcome.error is None else set()
            assert new_audit == expected_audit, f"audit after grant insert for {target} as {ctx.name}: {new_audit}"
    matrix.assert_clean()


def test_insert_audit_events_is_refused_to_everyone(matrix: Matrix) -> None:
    sw = matrix.sw
    for ctx in CONTEXTS:
        for target in ("startup", ctx.tenant or "startup"):
            matrix.write(
                ctx,
                "audit_events",
                "insert into audit_events (tenant_id, action, subject_type) values (%s, 'x', 'x')",
                (sw.tenants[target],),
                allowed=False,
                refusal=REFUSED,
                label=f"into {target}",
            )
    matrix.assert_clean()


def test_insert_company_profiles_only_by_startup_admins(matrix: Matrix, owner_conn: psycopg.Connection) -> None:
    sw = matrix.sw
    owner_conn.execute("delete from company_profiles where tenant_id = any(%s)", (list(sw.tenants.values()),))
    for ctx in CONTEXTS:
        for target in TENANT_KEYS:
            allowed = target in PROFILE_INSERTS.get(ctx.name, set())
            matrix.write(
                ctx,
                "company_profiles",
                "insert into company_profiles (tenant_id, legal_name) values (%s, 'Mine K.K.')",
                (sw.tenants[target],),
                allowed=allowed,
                changes={target},
                refusal=None if allowed else REFUSED,
                label=f"for {target}",
            )
    matrix.assert_clean()


# UPDATE -----------------------------------------------------------------------------------------------


def test_update_tenants_only_the_owner_renames_the_acting_tenant(matrix: Matrix) -> None:
    sw = matrix.sw
    for ctx in CONTEXTS:
        for target in TENANT_KEYS:
            allowed = target in TENANT_RENAMES.get(ctx.name, set())
            matrix.write(
                ctx,
                "tenants",
                "update tenants set name = %s where id = %s",
                (f"renamed by {ctx.name}", sw.tenants[target]),
                allowed=allowed,
                changes={target},
                label=target,
            )
    matrix.assert_clean()


def test_update_users_only_oneself(matrix: Matrix) -> None:
    sw = matrix.sw
    for ctx in CONTEXTS:
        for target in sw.users:
            allowed = target in USER_RENAMES.get(ctx.name, set())
            matrix.write(
                ctx,
                "users",
                "update users set display_name = %s where id = %s",
                (f"renamed by {ctx.name}", sw.users[target]),
                allowed=allowed,
                changes={target},
                label=target,
            )
    matrix.assert_clean()


def test_update_memberships_only_by_admins_of_the_acting_tenant(matrix: Matrix) -> None:
    sw = matrix.sw
    for ctx in CONTEXTS:
        for name, (tenant, role) in ACTORS.items():
            new_role = "member" if role == "viewer" else "viewer"
            allowed = (tenant, name) in MEMBER_CHANGES.get(ctx.name, set())
            matrix.write(
                ctx,
                "memberships",
                "update memberships set role = %s where tenant_id = %s and user_id = %s",
                (new_role, sw.tenants[tenant], sw.users[name]),
                allowed=allowed,
                changes={(tenant, name)},
                label=f"{tenant}/{name}",
            )
    matrix.assert_clean()


def test_update_portfolio_grants_only_by_the_granting_startups_admins(matrix: Matrix) -> None:
    """Grantees never write the grant; a revoked grant cannot be changed even by the startup (trigger)."""
    sw = matrix.sw
    marker = datetime.now(UTC) + timedelta(days=3650)
    for ctx in CONTEXTS:
        for grant_id, pair in sw.grants.items():
            allowed = pair in GRANT_DECISIONS.get(ctx.name, set())
            revoked = pair == ("startup", "vc_revoked")
            matrix.write(
                ctx,
                "portfolio_grants",
                "update portfolio_grants set expires_at = %s where id = %s",
                (marker, grant_id),
                allowed=allowed and not revoked,
                changes={(*pair, str(grant_id))},
                refusal=psycopg.errors.CheckViolation if allowed and revoked else None,
                label=f"{pair}",
            )
    matrix.assert_clean()


def test_update_company_profiles_only_by_admins_of_the_acting_tenant(matrix: Matrix) -> None:
    sw = matrix.sw
    for ctx in CONTEXTS:
        for target in TENANT_KEYS:
            allowed = target in PROFILE_UPDATES.get(ctx.name, set())
            matrix.write(
                ctx,
                "company_profiles",
                "update company_profiles set legal_name = %s where tenant_id = %s",
                (f"edited by {ctx.name}", sw.tenants[target]),
                allowed=allowed,
                changes={target},
                label=target,
            )
    matrix.assert_clean()


def test_update_audit_events_is_refused_to_everyone(matrix: Matrix) -> None:
    sw = matrix.sw
    for ctx in CONTEXTS:
        matrix.write(
            ctx,
            "audit_events",
            "update audit_events set action = 'tampered' where tenant_id = any(%s)",
            (list(sw.tenants.values()),),
            allowed=False,
            refusal=REFUSED,
        )
    matrix.assert_clean()


# DELETE -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table", ["tenants", "users", "portfolio_grants", "audit_events", "company_profiles", "invitations"]
)
def test_delete_is_refused_to_everyone(table: str, matrix: Matrix) -> None:
    sw = matrix.sw
    where = {"tenants": "id = any(%s)", "users": "id = any(%s)"}.get(table, "tenant_id = any(%s)")
    ids = list(sw.users.values()) if table == "users" else list(sw.tenants.values())
    for ctx in CONTEXTS:
        matrix.write(ctx, table, f"delete from {table} where {where}", (ids,), allowed=False, refusal=REFUSED)
    matrix.assert_clean()


def test_delete_memberships_only_by_admins_of_the_acting_tenant(matrix: Matrix) -> None:
    sw = matrix.sw
    for ctx in CONTEXTS:
        for name, (tenant, _role) in ACTORS.items():
            allowed = (tenant, name) in MEMBER_CHANGES.get(ctx.name, set())
            matrix.write(
                ctx,
                "memberships",
                "delete from memberships where tenant_id = %s and user_id = %s",
                (sw.tenants[tenant], sw.users[name]),
                allowed=allowed,
                changes={(tenant, name)},
                label=f"{tenant}/{name}",
            )
    matrix.assert_clean()


# Escalations and the owner ----------------------------------------------------------------------------


def ctx_of(name: str) -> Ctx:
    return next(c for c in CONTEXTS if c.name == name)


def test_role_escalations_are_refused(matrix: Matrix) -> None:
    sw = matrix.sw
    startup = sw.tenants["startup"]
    update_role = "update memberships set role = %s where tenant_id = %s and user_id = %s"
    # an admin makes itself, or a member, an owner: the new row fails WITH CHECK
    for target in ("startup_admin", "startup_member"):
        matrix.write(
            ctx_of("startup_admin"),
            "memberships",
            update_role,
            ("owner", startup, sw.users[target]),
            allowed=False,
            refusal=REFUSED,
            label=f"{target}→owner",
        )
    # a member or viewer promotes itself: not an admin, so no row qualifies
    for target, role in (("startup_member", "admin"), ("startup_viewer", "owner")):
        matrix.write(
            ctx_of(target),
            "memberships",
            update_role,
            (role, startup, sw.users[target]),
            allowed=False,
            label=f"{target}→{role}",
        )
    # nobody enrols anyone directly, not even the owner: people join by accepting an invitation
    insert_member = "insert into memberships (tenant_id, user_id, role) values (%s, %s, %s)"
    for actor in ("startup_admin", "startup_owner"):
        matrix.write(
            ctx_of(actor),
            "memberships",
            insert_member,
            (startup, sw.users["spare"], "owner"),
            allowed=False,
            refusal=REFUSED,
            label="spare as owner",
        )
    # an admin invites an owner (refused); the owner may (the control that shows the check can pass)
    insert_invitation = "insert into invitations (tenant_id, email, role) values (%s, %s, 'owner')"
    spare_email = f"spare-{sw.suffix}@example.com"
    matrix.write(
        ctx_of("startup_admin"),
        "invitations",
        insert_invitation,
        (startup, spare_email),
        allowed=False,
        refusal=REFUSED,
        label="spare as owner",
    )
    outcome = matrix.write(
        ctx_of("startup_owner"),
        "invitations",
        insert_invitation + " returning id",
        (startup, spare_email),
        allowed=True,
        label="spare as owner",
    )
    assert outcome.rows, outcome.describe()
    # a VC approves its own request
    matrix.write(
        ctx_of("vc_requested"),
        "portfolio_grants",
        "update portfolio_grants set status = 'active', scopes = '{company,captable}' where id = %s",
        (sw.grant_id(("startup", "vc_requested")),),
        allowed=False,
        label="self-approval",
    )
    # a VC widens its active grant
    matrix.write(
        ctx_of("vc_lacking_scope"),
        "portfolio_grants",
        "update portfolio_grants set scopes = '{company,captable,financials}' where id = %s",
        (sw.grant_id(("startup", "vc_lacking_scope")),),
        allowed=False,
        label="self-widening",
    )
    # a VC files a request that is already approved, or already decided
    insert_grant = (
        "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes, scopes, status, decided_by)"
        " values (%s, %s, '{company}', %s, %s, %s)"
    )
    for scopes, status, decided_by in (
        (["company"], "active", None),
        ([], "requested", sw.users["vc_active"]),
        (["company"], "requested", None),
    ):
        matrix.write(
            ctx_of("vc_active"),
            "portfolio_grants",
            insert_grant,
            (sw.tenants["lone_startup"], sw.tenants["vc_active"], scopes, status, decided_by),
            allowed=False,
            refusal=REFUSED,
            label=f"pre-decided {status} {scopes} {decided_by}",
        )
    # a grantee tries to move the startup's profile into its own tenant (tenant_id is not updatable)
    matrix.write(
        ctx_of("vc_active"),
        "company_profiles",
        "update company_profiles set tenant_id = %s where tenant_id = %s",
        (sw.tenants["vc_active"], sw.tenants["startup"]),
        allowed=False,
        refusal=REFUSED,
        label="steal profile",
    )
    matrix.assert_clean()


def test_granted_read_audit_cannot_be_written_into_a_foreign_trail(
    matrix: Matrix, owner_conn: psycopg.Connection
) -> None:
    """app.record_grant_read (security definer) logs only where the caller holds a grant for the scope."""
    sw = matrix.sw
    call = "select app.record_grant_read(%s, %s, 'probe')"
    for ctx_name, scope, expected in (
        ("vc_lacking_scope", "company", set()),
        ("vc_revoked", "company", set()),
        ("vc_expired", "company", set()),
        ("vc_requested", "company", set()),
        ("startup_owner", "company", set()),
        ("forged_grantee", "company", set()),
        ("vc_lacking_scope", "financials", {"startup"}),  # the control: a real grant does log
        ("vc_active", "company", {"startup"}),
    ):
        before = snapshot(owner_conn, sw, "audit_events")
        outcome = attempt(
            matrix.app,
            sw,
            ctx_of(ctx_name),
            call,
            ([sw.tenants["startup"], sw.tenants["other_startup"], sw.tenants["lone_startup"]], scope),
        )
        assert outcome.error is None, outcome.describe()
        written = changed(before, snapshot(owner_conn, sw, "audit_events"))
        new = {k[0] for k in written}
        assert new == expected, f"record_grant_read as {ctx_name} for {scope}: wrote into {new}"
        # each logged read names the acting user and VC (resolved once per statement, not per startup)
        ctx = ctx_of(ctx_name)
        actors = owner_conn.execute(
            "select distinct actor_user_id, actor_tenant_id from audit_events where (tenant_id, id) in"
            " (select * from unnest(%s::uuid[], %s::bigint[]))",
            ([sw.tenants[k[0]] for k in written], [k[1] for k in written]),
        ).fetchall()
        assert actors == ([(sw.users[ctx.user or ""], sw.tenants[ctx.tenant or ""])] if written else [])


def test_lookup_helpers_answer_only_admins(app: psycopg.Connection, sw: SqlWorld) -> None:
    email = sw.base.actor("other_startup_owner").email
    slug = sw.base.slugs["startup"]
    for ctx in CONTEXTS:
        # users are never found by e-mail: that would tell an admin who has an account
        by_email = attempt(app, sw, ctx, "select app.user_id_by_email(%s)", (email,), commit=False)
        by_slug = attempt(app, sw, ctx, "select app.startup_id_by_slug(%s)", (slug,), commit=False)
        assert isinstance(by_email.error, psycopg.errors.UndefinedFunction), ctx.name
        assert by_slug.rows == [(sw.tenants["startup"] if ctx.name in VCS else None,)], ctx.name
    vc = ctx_of("vc_active")
    for other in ("vc_requested", "operator"):  # only startups are found, never VCs or operators
        outcome = attempt(app, sw, vc, "select app.startup_id_by_slug(%s)", (sw.base.slugs[other],), commit=False)
        assert outcome.rows == [(None,)], other


def test_audit_events_are_append_only_even_for_the_owner(owner_conn: psycopg.Connection, sw: SqlWorld) -> None:
    before = snapshot(owner_conn, sw, "audit_events")
    assert before
    for statement in (
        "update audit_events set action = 'tampered' where tenant_id = any(%s)",
        "delete from audit_events where tenant_id = any(%s)",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"), owner_conn.transaction():
            owner_conn.execute(statement, (list(sw.tenants.values()),))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"), owner_conn.transaction():
        owner_conn.execute("truncate audit_events")
    assert snapshot(owner_conn, sw, "audit_events") == before


def test_revocation_takes_effect_on_the_next_statement(
    owner_conn: psycopg.Connection, app: psycopg.Connection, sw: SqlWorld
) -> None:
    """Inside one VC transaction: the profile is visible, the startup revokes (committed elsewhere), and the
    VC's next statement in the same transaction no longer sees it."""
    startup = sw.tenants["startup"]
    with app.transaction(force_rollback=True):
        bind(app, sw, ctx_of("vc_active"))
        query = "select count(*) from company_profiles where tenant_id = %s"
        assert app.execute(query, (startup,)).fetchone() == (1,)
        owner_conn.execute(
            "update portfolio_grants set status = 'revoked' where id = %s", (sw.grant_id(("startup", "vc_active")),)
        )
        assert app.execute(query, (startup,)).fetchone() == (0,)


def test_forged_user_id_matching_no_membership_gets_nothing_even_with_a_valid_tenant(
    app: psycopg.Connection, sw: SqlWorld
) -> None:
    """A fresh uuid per run, as a token for a deleted user would carry."""
    ctx = Ctx("fresh_ghost", None, "startup")
    for table in TABLES:
        with app.transaction(force_rollback=True):
            app.execute(SET_CONTEXT, (str(uuid.uuid4()), str(sw.tenants["startup"])))
            assert app.execute(f"select count(*) from {table}").fetchone() == (0,), f"{table} as {ctx.name}"


def test_the_database_refuses_scopes_beyond_the_request_and_records_the_real_requester(
    app_conn: psycopg.Connection, owner_conn: psycopg.Connection, world: World
) -> None:
    founder, vc = world.actor("startup_owner"), world.actor("vc_requested")
    grant = world.grants["vc_requested"]  # requested_scopes = {company}
    with acting_as(app_conn, founder) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "update portfolio_grants set status = 'active', scopes = '{company,costs}' where id = %s", (grant,)
        )
    assert owner_conn.execute("select status, scopes from portfolio_grants where id = %s", (grant,)).fetchone() == (
        "requested",
        [],
    )
    owner_conn.execute("update portfolio_grants set status = 'revoked' where id = %s", (grant,))
    with acting_as(app_conn, vc) as conn:
        row = conn.execute(
            "insert into portfolio_grants (tenant_id, vc_tenant_id, requested_scopes, requested_by)"
            " values (%s, %s, '{company}', %s) returning requested_by",
            (world.tenants["startup"], vc.tenant_id, founder.user_id),
        ).fetchone()
    assert row == (vc.user_id,)
