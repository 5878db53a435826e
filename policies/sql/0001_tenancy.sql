-- Tenancy core (revision 0001). Frozen once released: later changes go in a new file.
--
-- Every policy reads the request context through helpers in schema `app`:
--   app.current_user_id()      the user of the request (app.user_id), or null
--   app.current_tenant()       the acting tenant (app.tenant_id) only if the user is a member of it, else null
--   app.current_member_role()  that membership's role, or null
--   app.granted_tenants(scope) startups that granted the acting VC an active, unexpired grant for `scope`
-- Helpers are called as `(select app.f())` so PostgreSQL evaluates them once per statement (an initPlan).
-- A missing or forged context makes every helper return null/empty and every policy match nothing.


create schema app;
revoke all on schema app from public;
grant usage on schema app to roundpool_api;

-- Tables ------------------------------------------------------------------------------------------------

create table tenants (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name text not null check (length(name) between 1 and 200),
    kind text not null check (kind in ('startup', 'vc', 'operator')),
    operator_id uuid references tenants (id),
    created_at timestamptz not null default now()
);
create index tenants_operator_idx on tenants (operator_id);

create table users (
    id uuid primary key default gen_random_uuid(),
    email text not null unique check (email = lower(email) and email like '%_@_%'),
    display_name text not null default '',
    created_at timestamptz not null default now()
);

create table memberships (
    tenant_id uuid not null references tenants (id),
    user_id uuid not null references users (id),
    role text not null check (role in ('owner', 'admin', 'member', 'viewer', 'billing_admin')),
    created_at timestamptz not null default now(),
    primary key (tenant_id, user_id)
);
create index memberships_user_idx on memberships (user_id, tenant_id);

create table portfolio_grants (
    tenant_id uuid not null references tenants (id),          -- the startup that grants
    id uuid not null default gen_random_uuid(),
    vc_tenant_id uuid not null references tenants (id),       -- the VC that reads
    requested_scopes text[] not null,
    scopes text[] not null default '{}',
    status text not null default 'requested' check (status in ('requested', 'active', 'revoked')),
    expires_at timestamptz,
    requested_by uuid references users (id),
    decided_by uuid references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    check (requested_scopes <> '{}'
           and requested_scopes <@ array['company', 'captable', 'financials', 'costs', 'invoices']),
    check (scopes <@ array['company', 'captable', 'financials', 'costs', 'invoices']),
    check (tenant_id <> vc_tenant_id)
);
create unique index portfolio_grants_open_pair on portfolio_grants (tenant_id, vc_tenant_id)
    where status <> 'revoked';
create index portfolio_grants_vc_idx on portfolio_grants (vc_tenant_id, status);

create table audit_events (
    tenant_id uuid not null references tenants (id),
    id bigint generated always as identity,
    occurred_at timestamptz not null default clock_timestamp(),
    actor_user_id uuid,
    actor_tenant_id uuid,
    action text not null,
    subject_type text not null,
    subject_id text,
    details jsonb not null default '{}',
    primary key (tenant_id, id)
);

create table company_profiles (
    tenant_id uuid not null primary key references tenants (id),
    legal_name text not null check (length(legal_name) between 1 and 300),
    country text check (country ~ '^[A-Z]{2}$'),
    founded_on date,
    sector text,
    stage text check (stage in ('pre_seed', 'seed', 'series_a', 'series_b', 'series_c', 'growth', 'public')),
    website text check (website ~ '^https?://'),
    updated_at timestamptz not null default now()
);

-- Context helpers ---------------------------------------------------------------------------------------

create function app.current_user_id() returns uuid
    language sql stable set search_path = ''
as $$ select nullif(current_setting('app.user_id', true), '')::uuid $$;

create function app.current_tenant() returns uuid
    language sql stable security definer set search_path = ''
as $$
    select m.tenant_id from public.memberships m
    where m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
      and m.user_id = nullif(current_setting('app.user_id', true), '')::uuid
$$;

create function app.current_member_role() returns text
    language sql stable security definer set search_path = ''
as $$
    select m.role from public.memberships m
    where m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
      and m.user_id = nullif(current_setting('app.user_id', true), '')::uuid
$$;

create function app.current_tenant_kind() returns text
    language sql stable security definer set search_path = ''
as $$ select t.kind from public.tenants t where t.id = app.current_tenant() $$;

-- Tenants the user belongs to (any role): the `tenants` list and switching the acting tenant.
create function app.my_tenants() returns uuid[]
    language sql stable security definer set search_path = ''
as $$
    select coalesce(array_agg(m.tenant_id), '{}') from public.memberships m
    where m.user_id = nullif(current_setting('app.user_id', true), '')::uuid
$$;

create function app.granted_tenants(scope text) returns uuid[]
    language sql stable security definer set search_path = ''
as $$
    select coalesce(array_agg(g.tenant_id), '{}') from public.portfolio_grants g
    where g.vc_tenant_id = app.current_tenant()
      and g.status = 'active'
      and scope = any (g.scopes)
      and (g.expires_at is null or g.expires_at > statement_timestamp())
$$;

-- Tenants an operator's billing admin bills (tenants.operator_id = the acting operator).
create function app.billed_tenants() returns uuid[]
    language sql stable security definer set search_path = ''
as $$
    select coalesce(array_agg(t.id), '{}') from public.tenants t
    where t.operator_id = app.current_tenant() and app.current_member_role() = 'billing_admin'
$$;

-- Tenants whose name the acting tenant may see: counterparties of its grants, billed tenants, its operator.
create function app.related_tenants() returns uuid[]
    language sql stable security definer set search_path = ''
as $$
    select coalesce(array_agg(distinct r.id), '{}') from (
        select g.vc_tenant_id as id from public.portfolio_grants g where g.tenant_id = app.current_tenant()
        union all
        select g.tenant_id from public.portfolio_grants g where g.vc_tenant_id = app.current_tenant()
        union all
        select unnest(app.billed_tenants())
    ) r
$$;

-- Users sharing the acting tenant.
create function app.co_members() returns uuid[]
    language sql stable security definer set search_path = ''
as $$
    select coalesce(array_agg(m.user_id), '{}') from public.memberships m
    where m.tenant_id = app.current_tenant()
$$;

create function app.is_admin() returns boolean
    language sql stable set search_path = ''
as $$ select coalesce(app.current_member_role() in ('owner', 'admin'), false) $$;

create function app.can_write() returns boolean
    language sql stable set search_path = ''
as $$ select coalesce(app.current_member_role() in ('owner', 'admin', 'member', 'billing_admin'), false) $$;

-- Look-ups the policies alone would hide, each answering only what the caller's role entitles it to.

-- A VC admin finds the startup it asks for access by slug (no other tenant kinds, nothing else about it).
create function app.startup_id_by_slug(startup_slug text) returns uuid
    language sql stable security definer set search_path = ''
as $$
    select t.id from public.tenants t
    where t.slug = startup_slug and t.kind = 'startup'
      and app.current_tenant_kind() = 'vc' and app.is_admin()
$$;

-- A tenant admin finds an existing user by e-mail to add them as a member.
create function app.user_id_by_email(user_email text) returns uuid
    language sql stable security definer set search_path = ''
as $$ select u.id from public.users u where u.email = lower(user_email) and app.is_admin() $$;

-- Audit ------------------------------------------------------------------------------------------------

-- A VC's read of granted data, logged in the startup's trail. Only tenants actually granted for `scope`
-- are logged, so the function cannot write into a trail the caller has no grant on.
create function app.record_grant_read(startups uuid[], scope text, subject text) returns void
    language sql volatile security definer set search_path = ''
as $$
    insert into public.audit_events (tenant_id, actor_user_id, actor_tenant_id, action, subject_type,
                                     subject_id, details)
    select s, app.current_user_id(), app.current_tenant(), 'grant.read', scope, subject, '{}'
    from unnest(startups) s
    where s = any (array(select unnest(app.granted_tenants(scope))))  -- once per call, not per startup
$$;

create function app.reject_audit_change() returns trigger
    language plpgsql set search_path = ''
as $$ begin raise exception 'audit_events is append-only' using errcode = 'insufficient_privilege'; end $$;

create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function app.reject_audit_change();
create trigger audit_events_no_truncate before truncate on audit_events
    for each statement execute function app.reject_audit_change();

-- Grant lifecycle: requested → active ⇄ (scope changes) → revoked (final); every change audited on both sides.
create function app.portfolio_grant_changed() returns trigger
    language plpgsql security definer set search_path = ''
as $$
declare
    action text;
begin
    if tg_op = 'INSERT' then
        if (select kind from public.tenants where id = new.tenant_id) <> 'startup'
           or (select kind from public.tenants where id = new.vc_tenant_id) <> 'vc' then
            raise exception 'a portfolio grant links a startup to a VC' using errcode = 'check_violation';
        end if;
        -- Whoever files the request is the request's author, whatever the row claims.
        new.requested_by := coalesce(app.current_user_id(), new.requested_by);
        action := 'grant.requested';
    else
        if old.tenant_id <> new.tenant_id or old.vc_tenant_id <> new.vc_tenant_id or old.id <> new.id
           or old.requested_scopes <> new.requested_scopes or old.requested_by is distinct from new.requested_by then
            raise exception 'a grant''s parties and request are fixed' using errcode = 'check_violation';
        end if;
        if old.status = 'revoked' then
            raise exception 'grant % is revoked; request access again', old.id using errcode = 'check_violation';
        end if;
        if new.status = 'requested' and old.status <> 'requested' then
            raise exception 'grant % cannot return to requested', old.id using errcode = 'check_violation';
        end if;
        if not new.scopes <@ new.requested_scopes then
            raise exception 'grant % approves scopes that were not requested', old.id using errcode = 'check_violation';
        end if;
        if new.status = 'active' and new.scopes = '{}' then
            raise exception 'an active grant needs at least one scope' using errcode = 'check_violation';
        end if;
        new.updated_at := now();
        action := case new.status when 'revoked' then 'grant.revoked' else 'grant.approved' end;
    end if;
    insert into public.audit_events (tenant_id, actor_user_id, actor_tenant_id, action, subject_type,
                                     subject_id, details)
    select t, app.current_user_id(), app.current_tenant(), action, 'portfolio_grant', new.id::text,
           jsonb_build_object('status', new.status, 'scopes', new.scopes,
                              'requested_scopes', new.requested_scopes, 'expires_at', new.expires_at,
                              'startup_tenant_id', new.tenant_id, 'vc_tenant_id', new.vc_tenant_id)
    from unnest(array[new.tenant_id, new.vc_tenant_id]) t;
    return new;
end
$$;

create trigger portfolio_grants_changed before insert or update on portfolio_grants
    for each row execute function app.portfolio_grant_changed();

-- billing_admin exists only in operator tenants.
create function app.check_membership_role() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if new.role = 'billing_admin' and (select kind from public.tenants where id = new.tenant_id) <> 'operator' then
        raise exception 'billing_admin is a role of operator tenants only' using errcode = 'check_violation';
    end if;
    return new;
end
$$;

create trigger memberships_role_fits_kind before insert or update on memberships
    for each row execute function app.check_membership_role();

-- Row-level security ------------------------------------------------------------------------------------

alter table tenants enable row level security;
alter table tenants force row level security;
create policy tenants_read on tenants for select using (
    id = (select app.current_tenant())
    or id = any (array(select unnest(app.my_tenants())))
    or id = any (array(select unnest(app.related_tenants())))
);
create policy tenants_rename on tenants for update
    using (id = (select app.current_tenant()) and (select app.current_member_role()) = 'owner')
    with check (id = (select app.current_tenant()));

alter table users enable row level security;
alter table users force row level security;
create policy users_read on users for select using (
    id = (select app.current_user_id()) or id = any (array(select unnest(app.co_members())))
);
create policy users_create on users for insert with check ((select app.is_admin()));
create policy users_update_self on users for update
    using (id = (select app.current_user_id())) with check (id = (select app.current_user_id()));

alter table memberships enable row level security;
alter table memberships force row level security;
create policy memberships_read on memberships for select using (
    user_id = (select app.current_user_id()) or tenant_id = (select app.current_tenant())
);
-- Admins manage members; only an owner grants or removes ownership.
create policy memberships_insert on memberships for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.is_admin())
    and (role <> 'owner' or (select app.current_member_role()) = 'owner')
);
create policy memberships_update on memberships for update
    using (tenant_id = (select app.current_tenant()) and (select app.is_admin())
           and (role <> 'owner' or (select app.current_member_role()) = 'owner'))
    with check (tenant_id = (select app.current_tenant())
                and (role <> 'owner' or (select app.current_member_role()) = 'owner'));
create policy memberships_delete on memberships for delete using (
    tenant_id = (select app.current_tenant()) and (select app.is_admin())
    and (role <> 'owner' or (select app.current_member_role()) = 'owner')
);

alter table portfolio_grants enable row level security;
alter table portfolio_grants force row level security;
create policy portfolio_grants_read on portfolio_grants for select using (
    tenant_id = (select app.current_tenant()) or vc_tenant_id = (select app.current_tenant())
);
-- A VC's admin files a request; it carries no scopes until the startup approves.
create policy portfolio_grants_request on portfolio_grants for insert with check (
    vc_tenant_id = (select app.current_tenant()) and (select app.is_admin())
    and (select app.current_tenant_kind()) = 'vc'
    and status = 'requested' and scopes = '{}' and decided_by is null
);
-- Only the granting startup's owners and admins decide.
create policy portfolio_grants_decide on portfolio_grants for update
    using (tenant_id = (select app.current_tenant()) and (select app.is_admin()))
    with check (tenant_id = (select app.current_tenant()));

alter table audit_events enable row level security;
alter table audit_events force row level security;
create policy audit_events_read on audit_events for select using (
    tenant_id = (select app.current_tenant()) and (select app.is_admin())
);

alter table company_profiles enable row level security;
alter table company_profiles force row level security;
create policy company_profiles_read on company_profiles for select using (
    tenant_id = (select app.current_tenant())
    or tenant_id = any (array(select unnest(app.granted_tenants('company'))))
);
create policy company_profiles_insert on company_profiles for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.is_admin())
    and (select app.current_tenant_kind()) = 'startup'
);
create policy company_profiles_update on company_profiles for update
    using (tenant_id = (select app.current_tenant()) and (select app.is_admin()))
    with check (tenant_id = (select app.current_tenant()));

-- Privileges of the API group ---------------------------------------------------------------------------

revoke all on all tables in schema public from public;
revoke execute on all functions in schema app from public;
grant execute on all functions in schema app to roundpool_api;

grant select, update (name) on tenants to roundpool_api;
grant select, insert, update (display_name) on users to roundpool_api;
grant select, insert, update (role), delete on memberships to roundpool_api;
grant select, insert, update (scopes, status, expires_at, decided_by) on portfolio_grants to roundpool_api;
grant select on audit_events to roundpool_api;
grant select, insert, update (legal_name, country, founded_on, sector, stage, website, updated_at)
    on company_profiles to roundpool_api;
