-- Report sources an operator registers for scheduled sync from a bucket (revision 0017). Frozen once released: later changes go in a new file.
--
-- cost_report_sources   a prefix (s3://bucket/prefix, or a local mirror folder) inside one of the operator's
--                       configured cost sources, and the layout AWS writes there (format). Never credentials:
--                       the bucket's endpoint and keys stay in configuration (ROUNDPOOL_COST_SOURCES).
--                       last_* is what the last sync saw (its time, the newest manifest's last-modified, its error).
--                       late_data is the lateData of the assemblies the sync queues (AWS rewrites a month once more
--                       when it is finalised, often after the operator closed it).
--
-- The periodic sync reads app.report_sources_to_sync() (ids only, across operators) and queues one job per
-- source under its registering billing admin's context; everything that job does runs under the policies.

create table cost_report_sources (
    tenant_id uuid not null references tenants (id),              -- the operator
    id uuid not null default gen_random_uuid(),
    location text not null check (length(location) between 1 and 2000),
    source_name text not null check (length(source_name) between 1 and 300),  -- the configured cost source
    format text not null check (format in ('legacy-cur', 'cur2', 'focus')),
    late_data text not null default 'corrections' check (late_data in ('reject', 'corrections')),
    created_by uuid not null references users (id),
    created_at timestamptz not null default now(),
    last_synced_at timestamptz,
    last_manifest_at timestamptz,
    last_error text check (length(last_error) <= 2000),
    primary key (tenant_id, id),
    unique (tenant_id, location)
);

alter table cost_report_sources enable row level security;
alter table cost_report_sources force row level security;
create policy cost_report_sources_read on cost_report_sources for select using (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
);
create policy cost_report_sources_insert on cost_report_sources for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
    and created_by = (select app.current_user_id())
);
create policy cost_report_sources_update on cost_report_sources for update
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()));

revoke all on cost_report_sources from public;
grant select,
    insert (tenant_id, location, source_name, format, late_data, created_by),
    update (last_synced_at, last_manifest_at, last_error)
    on cost_report_sources to roundpool_api;

-- What the scheduler needs and nothing more: which source, of which operator, synced as whom (its registrant,
-- while still a billing admin there). No locations, no tenant data.
create function app.report_sources_to_sync() returns table (tenant_id uuid, id uuid, created_by uuid)
    language sql stable security definer set search_path = ''
as $$
    select s.tenant_id, s.id, s.created_by
    from public.cost_report_sources s
    join public.memberships m on m.tenant_id = s.tenant_id and m.user_id = s.created_by
    where m.role = 'billing_admin'
    order by s.tenant_id, s.id
$$;
revoke all on function app.report_sources_to_sync() from public;
grant execute on function app.report_sources_to_sync() to roundpool_api;

-- The store maintenance (vacuum) of each operator that has imported anything, run as one of its billing admins
-- (the earliest to join) so that the job reads the assemblies still staging under the policies.
create function app.cost_stores_to_vacuum() returns table (tenant_id uuid, user_id uuid)
    language sql stable security definer set search_path = ''
as $$
    select distinct on (t.id) t.id, m.user_id
    from public.tenants t
    join public.memberships m on m.tenant_id = t.id and m.role = 'billing_admin'
    where t.kind = 'operator' and exists (select 1 from public.cost_imports i where i.tenant_id = t.id)
    order by t.id, m.created_at, m.user_id
$$;
revoke all on function app.cost_stores_to_vacuum() from public;
grant execute on function app.cost_stores_to_vacuum() to roundpool_api;
