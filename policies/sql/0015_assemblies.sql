-- Cost report assemblies: a manifest and its parts, imported as jobs, published when complete (revision 0015). Frozen once released: later changes go in a new file.
--
-- cost_assemblies            one delivery of a report (legacy CUR assemblyId / Data Exports executionId):
--                            its manifest, identity (source, report, period), status and what publication did
-- cost_imports.assembly_id   a part of an assembly (one staged file, one job); null: a single-file import
-- cost_imports.part_index    its position in the manifest (0-based)
-- cost_imports.staged        the part's unpublished files: [{"period", "account", "path", "rows"}, ...]
--
-- Parts are imported concurrently by any worker (no lock); the last part to succeed, under the assembly row's
-- lock, queues one publication job under its operator's store lock, which publishes every part at once.

create table cost_assemblies (
    tenant_id uuid not null references tenants (id),              -- the operator that imports
    id uuid not null default gen_random_uuid(),
    manifest_uri text not null check (length(manifest_uri) between 1 and 2000),
    source_name text not null check (length(source_name) between 1 and 300),  -- the configured cost source
    kind text not null check (kind in ('legacy-cur', 'data-exports')),
    report text not null check (length(report) between 1 and 500),            -- report / export name
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    assembly_key text not null check (length(assembly_key) between 1 and 500), -- assemblyId / executionId
    parts_total integer not null check (parts_total between 1 and 10000),
    status text not null default 'queued'
        check (status in ('queued', 'publishing', 'succeeded', 'failed', 'duplicate', 'superseded')),
    late_data text not null default 'reject' check (late_data in ('reject', 'corrections')),
    error jsonb,                                                  -- {file, row, column, reason}
    rehomed jsonb not null default '[]' check (jsonb_typeof(rehomed) = 'array'),
    catalog_version bigint,
    publish_job_id bigint,
    created_by uuid not null references users (id),
    created_at timestamptz not null default now(),
    finished_at timestamptz,
    primary key (tenant_id, id),
    check ((status = 'failed') = (error is not null))
);
create index cost_assemblies_identity_idx on cost_assemblies (tenant_id, source_name, report, period, created_at);
create index cost_assemblies_created_idx on cost_assemblies (tenant_id, created_at, id);

alter table cost_imports
    add column assembly_id uuid,
    add column part_index integer check (part_index >= 0),
    add column staged jsonb check (staged is null or jsonb_typeof(staged) = 'array'),
    add foreign key (tenant_id, assembly_id) references cost_assemblies (tenant_id, id),
    add check ((assembly_id is null) = (part_index is null));
create unique index cost_imports_part_idx on cost_imports (tenant_id, assembly_id, part_index)
    where assembly_id is not null;

alter table cost_assemblies enable row level security;
alter table cost_assemblies force row level security;
create policy cost_assemblies_read on cost_assemblies for select using (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
);
create policy cost_assemblies_insert on cost_assemblies for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
    and created_by = (select app.current_user_id()) and status = 'queued'
);
create policy cost_assemblies_update on cost_assemblies for update
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()));

revoke all on cost_assemblies from public;
grant select,
    insert (tenant_id, manifest_uri, source_name, kind, report, period, assembly_key, parts_total, late_data,
            created_by),
    update (status, error, rehomed, catalog_version, publish_job_id, finished_at)
    on cost_assemblies to roundpool_api;
grant insert (assembly_id, part_index, late_data), update (staged) on cost_imports to roundpool_api;
