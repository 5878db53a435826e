"""The catalog test of DESIGN §2: fails the build when the database's security shape regresses."""

import psycopg

from db.bootstrap import API_GROUP, APP_ROLE


def test_every_table_with_tenant_id_has_rls_enabled_forced_and_a_policy(owner_conn: psycopg.Connection) -> None:
    rows = owner_conn.execute(
        """
        select c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (select count(*) from pg_policy p where p.polrelid = c.oid)
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
          and exists (select 1 from pg_attribute a
                      where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
        """
    ).fetchall()
    assert rows, "no table has a tenant_id column: the query is wrong"
    offenders = [
        (name, enabled, forced, policies)
        for name, enabled, forced, policies in rows
        if not (enabled and forced and policies > 0)
    ]
    assert offenders == []


def test_global_tables_are_under_rls_too(owner_conn: psycopg.Connection) -> None:
    rows = owner_conn.execute(
        "select relname from pg_class where relname in ('tenants', 'users') and relrowsecurity and relforcerowsecurity"
    ).fetchall()
    assert sorted(r[0] for r in rows) == ["tenants", "users"]


def test_security_definer_functions_pin_an_empty_search_path_in_a_private_schema(
    owner_conn: psycopg.Connection,
) -> None:
    rows = owner_conn.execute(
        """
        select n.nspname, p.proname, p.proconfig
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
        """
    ).fetchall()
    assert rows, "no security-definer function found: the helpers are missing"
    mutable = [(s, f) for s, f, config in rows if 'search_path=""' not in (config or [])]
    assert mutable == []
    exposed = [(s, f) for s, f, _ in rows if s != "app"]
    assert exposed == []


def test_private_schema_is_not_usable_by_public(owner_conn: psycopg.Connection) -> None:
    usable = owner_conn.execute("select has_schema_privilege('public', 'app', 'USAGE')").fetchone()
    assert usable == (False,)


def test_every_view_is_security_invoker(owner_conn: psycopg.Connection) -> None:
    rows = owner_conn.execute(
        """
        select c.relname, c.reloptions from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'v' and n.nspname not in ('pg_catalog', 'information_schema')
        """
    ).fetchall()
    not_invoker = [
        name
        for name, options in rows
        if not any(
            o.lower() in ("security_invoker=true", "security_invoker=on", "security_invoker=1") for o in options or []
        )
    ]
    assert not_invoker == []


def test_app_role_cannot_bypass_rls_and_owns_nothing(owner_conn: psycopg.Connection) -> None:
    for role in (APP_ROLE, API_GROUP):
        attributes = owner_conn.execute(
            "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = %s", (role,)
        ).fetchone()
        assert attributes == (False, False, False, False), role
    inherited = owner_conn.execute(
        """
        select r.rolname from pg_roles r
        where pg_has_role(%s, r.oid, 'MEMBER') and (r.rolsuper or r.rolbypassrls)
        """,
        (APP_ROLE,),
    ).fetchall()
    assert inherited == []
    owned = owner_conn.execute(
        """
        with system as (select oid from pg_namespace where nspname like 'pg_%%' or nspname = 'information_schema')
        select 'class', relname from pg_class where pg_has_role(%(r)s, relowner, 'MEMBER')
          and relnamespace not in (select oid from system)
        union all
        select 'function', proname from pg_proc where pg_has_role(%(r)s, proowner, 'MEMBER')
          and pronamespace not in (select oid from system)
        union all
        select 'schema', nspname from pg_namespace where pg_has_role(%(r)s, nspowner, 'MEMBER')
        """,
        {"r": APP_ROLE},
    ).fetchall()
    assert owned == []


def test_audit_events_grant_no_write_privilege_to_the_app(owner_conn: psycopg.Connection) -> None:
    privileges = owner_conn.execute(
        "select privilege_type from information_schema.role_table_grants"
        " where table_name = 'audit_events' and grantee in (%s, %s, 'PUBLIC')",
        (APP_ROLE, API_GROUP),
    ).fetchall()
    assert {p[0] for p in privileges} == {"SELECT"}
