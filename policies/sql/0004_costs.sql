-- Cost module (revision 0004). Frozen once released: later changes go in a new file.
--
-- cloud_accounts              which customer tenant a cloud (sub-)account belongs to: the only source of the
--                             account set a cost read may scan (Parquet has no RLS)
-- cloud_account_assignments   its history (valid_from/valid_to), written by a trigger only
-- cost_imports                the manifest of each billing-file import (a background job), per operator
-- cost_period_locks           billing periods of an operator that no import may overwrite
--
-- Readers of accounts: the customer itself, VCs it granted `costs`, the billing admins of its operator.
-- Writers: only the billing admins of the operator that bills the customer (app.billed_tenants()).


-- Tables ------------------------------------------------------------------------------------------------

create table cloud_accounts (
    tenant_id uuid not null references tenants (id),              -- the customer the account is assigned to
    account_id text not null check (length(account_id) between 1 and 300),
    payer_account_id text check (length(payer_account_id) between 1 and 300),
    name text not null default '' check (length(name) <= 200),
    assigned_by uuid references users (id),
    assigned_at timestamptz not null default now(),
    primary key (tenant_id, account_id)
);
-- An account belongs to one tenant at a time; reassignment moves the row (and appends to the history).
create unique index cloud_accounts_account_idx on cloud_accounts (account_id);

create table cloud_account_assignments (
    tenant_id uuid not null references tenants (id),
    account_id text not null,
    valid_from timestamptz not null,
    valid_to timestamptz,
    assigned_by uuid references users (id),
    primary key (tenant_id, account_id, valid_from),
    check (valid_to is null or valid_to >= valid_from)
);
create unique index cloud_account_assignments_open_idx on cloud_account_assignments (account_id)
    where valid_to is null;

create table cost_imports (
    tenant_id uuid not null references tenants (id),              -- the operator that imports
    id uuid not null default gen_random_uuid(),
    source_uri text not null check (length(source_uri) between 1 and 2000),
    source_name text not null default '',
    sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
    format text,
    currency text,
    rows bigint not null default 0 check (rows >= 0),
    bytes bigint not null default 0 check (bytes >= 0),
    bytes_total bigint check (bytes_total >= 0),
    periods text[] not null default '{}',
    accounts text[] not null default '{}',
    status text not null default 'queued'
        check (status in ('queued', 'running', 'succeeded', 'failed', 'duplicate')),
    error jsonb,                                                  -- {file, row, column, reason}
    job_id bigint,
    created_by uuid not null references users (id),
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    primary key (tenant_id, id),
    check ((status = 'failed') = (error is not null))
);
create index cost_imports_created_idx on cost_imports (tenant_id, created_at, id);
create index cost_imports_sha_idx on cost_imports (tenant_id, sha256);

create table cost_period_locks (
    tenant_id uuid not null references tenants (id),              -- the operator whose invoice closed it
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    locked_at timestamptz not null default now(),
    locked_by uuid references users (id),
    reason text not null default '' check (length(reason) <= 500),
    primary key (tenant_id, period)
);

-- Assignment history: one open row per account, closed when the account moves. Written by the owner
-- (security definer) so that no API role can forge or rewrite history.
create function app.cloud_account_assigned() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if tg_op = 'UPDATE' then
        if new.account_id <> old.account_id then
            raise exception 'a cloud account''s id is fixed' using errcode = 'check_violation';
        end if;
        if new.tenant_id = old.tenant_id then
            return new;
        end if;
        update public.cloud_account_assignments set valid_to = clock_timestamp()
        where account_id = old.account_id and valid_to is null;
    end if;
    if (select kind from public.tenants where id = new.tenant_id) = 'operator' then
        raise exception 'cloud accounts are assigned to customer tenants' using errcode = 'check_violation';
    end if;
    new.assigned_at := clock_timestamp();
    new.assigned_by := app.current_user_id();
    insert into public.cloud_account_assignments (tenant_id, account_id, valid_from, assigned_by)
    values (new.tenant_id, new.account_id, new.assigned_at, new.assigned_by);
    return new;
end
$$;

create trigger cloud_accounts_assigned before insert or update on cloud_accounts
    for each row execute function app.cloud_account_assigned();

-- Row-level security ------------------------------------------------------------------------------------

alter table cloud_accounts enable row level security;
alter table cloud_accounts force row level security;
create policy cloud_accounts_read on cloud_accounts for select using (
    tenant_id = (select app.current_tenant())
    or tenant_id = any (array(select unnest(app.granted_tenants('costs'))))
    or tenant_id = any (array(select unnest(app.billed_tenants())))
);
create policy cloud_accounts_assign on cloud_accounts for insert with check (
    tenant_id = any (array(select unnest(app.billed_tenants())))
);
-- Rename, or move to another tenant of the same operator: both the old and the new tenant are billed by it.
create policy cloud_accounts_update on cloud_accounts for update
    using (tenant_id = any (array(select unnest(app.billed_tenants()))))
    with check (tenant_id = any (array(select unnest(app.billed_tenants()))));

alter table cloud_account_assignments enable row level security;
alter table cloud_account_assignments force row level security;
create policy cloud_account_assignments_read on cloud_account_assignments for select using (
    tenant_id = (select app.current_tenant())
    or tenant_id = any (array(select unnest(app.granted_tenants('costs'))))
    or tenant_id = any (array(select unnest(app.billed_tenants())))
);

alter table cost_imports enable row level security;
alter table cost_imports force row level security;
create policy cost_imports_read on cost_imports for select using (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
);
create policy cost_imports_insert on cost_imports for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
    and created_by = (select app.current_user_id()) and status = 'queued'
);
create policy cost_imports_update on cost_imports for update
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()));

alter table cost_period_locks enable row level security;
alter table cost_period_locks force row level security;
create policy cost_period_locks_read on cost_period_locks for select using (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
);
create policy cost_period_locks_insert on cost_period_locks for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
);

-- Privileges of the API group ---------------------------------------------------------------------------

revoke all on cloud_accounts, cloud_account_assignments, cost_imports, cost_period_locks from public;
revoke execute on function app.cloud_account_assigned() from public;
grant execute on function app.cloud_account_assigned() to roundpool_api;

grant select, insert (tenant_id, account_id, payer_account_id, name), update (tenant_id, name, payer_account_id)
    on cloud_accounts to roundpool_api;
grant select on cloud_account_assignments to roundpool_api;
grant select, insert (tenant_id, source_uri, source_name, bytes_total, created_by),
    update (sha256, format, currency, rows, bytes, bytes_total, periods, accounts, status, error, job_id,
            started_at, finished_at)
    on cost_imports to roundpool_api;
grant select, insert (tenant_id, period, locked_by, reason) on cost_period_locks to roundpool_api;

-- The job queue (procrastinate's own schema, 0004_procrastinate_3_10.sql, applied just before this file).
-- Its tables hold no tenant data (a job's args are ids; progress and results live in cost_imports, under
-- RLS), so they carry no tenant_id and no policies. The server and the worker connect as the app role and
-- need exactly what procrastinate's queries do: read/write its four tables and run its functions.
do $$
declare
    f regprocedure;
begin
    for f in select p.oid::regprocedure from pg_proc p join pg_namespace n on n.oid = p.pronamespace
             where n.nspname = 'public' and p.proname like 'procrastinate\_%'
    loop
        execute format('revoke execute on function %s from public', f);
        execute format('grant execute on function %s to roundpool_api', f);
    end loop;
end
$$;
grant select, insert, update, delete
    on procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, procrastinate_workers
    to roundpool_api;
grant usage on sequence procrastinate_jobs_id_seq, procrastinate_events_id_seq,
    procrastinate_periodic_defers_id_seq to roundpool_api;
