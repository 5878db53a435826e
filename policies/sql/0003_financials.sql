-- Management information (revision 0003): financial statements, KPIs, KPI requests. Frozen once released.
--
-- A startup's members read all of its rows; owners, admins and members write drafts (`app.can_write()`).
-- A VC with an active, unexpired `financials` grant reads finalized reports only, never drafts, and writes
-- nothing. Finalized reports, their lines and their values are immutable: a trigger rejects every change.
--
-- Lines and values carry `final`, a copy of their report's status kept in sync by triggers, so that the
-- grantee's policy is a column test instead of a per-row subquery on the report (measured: see
-- tests/policies/test_isolation_financials.py). The API role can neither insert nor update `final`.

-- Tables ------------------------------------------------------------------------------------------------

create table financial_reports (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    statement text not null check (statement in ('profit_and_loss', 'balance_sheet', 'cash_flow')),
    period_start date not null,
    period_end date not null,
    currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
    status text not null default 'draft' check (status in ('draft', 'final')),
    finalized_at timestamptz,
    finalized_by uuid references users (id),
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, statement, period_start, period_end),
    check (period_end >= period_start),
    check ((status = 'final') = (finalized_at is not null))
);
create index financial_reports_period_idx on financial_reports (tenant_id, period_start, id);

create table financial_report_lines (
    tenant_id uuid not null,
    report_id uuid not null,
    line_key text not null check (line_key ~ '^[a-z][a-z0-9_]{0,62}$'),
    label text not null default '' check (length(label) <= 200),
    amount numeric(20, 4) not null,
    position int not null default 0,
    final boolean not null default false,
    primary key (tenant_id, report_id, line_key),
    foreign key (tenant_id, report_id) references financial_reports (tenant_id, id) on delete cascade
);

create table kpi_definitions (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    key text not null check (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    name text not null check (length(name) between 1 and 200),
    unit text not null check (unit in ('currency', 'count', 'percent', 'months', 'ratio')),
    currency char(3) check (currency ~ '^[A-Z]{3}$'),
    direction text not null default 'up' check (direction in ('up', 'down')),  -- which way is good
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, key),
    check ((unit = 'currency') = (currency is not null))
);

create table kpi_reports (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    period_start date not null,
    period_end date not null,
    status text not null default 'draft' check (status in ('draft', 'final')),
    finalized_at timestamptz,
    finalized_by uuid references users (id),
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    unique (tenant_id, period_start, period_end),
    check (period_end >= period_start),
    check ((status = 'final') = (finalized_at is not null))
);
create index kpi_reports_latest_final_idx on kpi_reports (tenant_id, period_end desc, period_start desc)
    where status = 'final';

create table kpi_values (
    tenant_id uuid not null,
    report_id uuid not null,
    definition_id uuid not null,
    value numeric(24, 6) not null,
    final boolean not null default false,
    primary key (tenant_id, report_id, definition_id),
    foreign key (tenant_id, report_id) references kpi_reports (tenant_id, id) on delete cascade,
    foreign key (tenant_id, definition_id) references kpi_definitions (tenant_id, id)
);
create index kpi_values_definition_idx on kpi_values (tenant_id, definition_id);

create table kpi_requests (
    tenant_id uuid not null references tenants (id),          -- the startup asked
    id uuid not null default gen_random_uuid(),
    vc_tenant_id uuid not null references tenants (id),       -- the VC asking
    period_start date not null,
    period_end date not null,
    kpi_keys text[] not null,
    message text not null default '' check (length(message) <= 2000),
    due_on date,
    status text not null default 'requested'
        check (status in ('requested', 'fulfilled', 'declined', 'cancelled')),
    response text not null default '' check (length(response) <= 2000),
    kpi_report_id uuid,
    requested_by uuid references users (id),
    responded_by uuid references users (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, kpi_report_id) references kpi_reports (tenant_id, id),
    check (period_end >= period_start),
    check (kpi_keys <> '{}' and cardinality(kpi_keys) <= 50),
    check (tenant_id <> vc_tenant_id),
    check ((status = 'fulfilled') = (kpi_report_id is not null))
);
create index kpi_requests_vc_idx on kpi_requests (vc_tenant_id, created_at, id);
create index kpi_requests_startup_idx on kpi_requests (tenant_id, created_at, id);

-- Immutability and the `final` copies -------------------------------------------------------------------

-- Reports: a final report never changes and is never deleted; a draft may become final once.
create function app.guard_report() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if old.status = 'final' then
        raise exception '% % (% to %) is final and cannot be %',
            case tg_table_name when 'financial_reports' then 'financial report' else 'KPI report' end, old.id,
            old.period_start, old.period_end, case tg_op when 'DELETE' then 'deleted' else 'changed' end
            using errcode = 'restrict_violation';
    end if;
    if tg_op = 'DELETE' then
        return old;
    end if;
    if new.tenant_id <> old.tenant_id or new.id <> old.id then
        raise exception 'a report''s tenant and id are fixed' using errcode = 'check_violation';
    end if;
    new.updated_at := now();
    if new.status = 'final' then
        new.finalized_at := now();
        new.finalized_by := app.current_user_id();
    end if;
    return new;
end
$$;

create trigger financial_reports_guard before update or delete on financial_reports
    for each row execute function app.guard_report();
create trigger kpi_reports_guard before update or delete on kpi_reports
    for each row execute function app.guard_report();

-- Lines and values: none added to, changed in or removed from a final report. `final` mirrors the report.
create function app.guard_report_item() returns trigger
    language plpgsql set search_path = ''
as $$
declare
    what text := case tg_table_name when 'financial_report_lines' then 'a line' else 'a value' end;
    report_status text;
begin
    if tg_op in ('UPDATE', 'DELETE') and old.final then
        raise exception '% of final report % cannot be %', what, old.report_id,
            case tg_op when 'DELETE' then 'deleted' else 'changed' end
            using errcode = 'restrict_violation';
    end if;
    if tg_op = 'DELETE' then
        return old;
    end if;
    if tg_table_name = 'financial_report_lines' then
        select r.status into report_status from public.financial_reports r
        where r.tenant_id = new.tenant_id and r.id = new.report_id;
    else
        select r.status into report_status from public.kpi_reports r
        where r.tenant_id = new.tenant_id and r.id = new.report_id;
    end if;
    -- The one change a final report's items accept: `final` set by app.report_finalized, nothing else.
    if report_status = 'final' and (tg_op = 'INSERT' or to_jsonb(new) - 'final' <> to_jsonb(old) - 'final') then
        raise exception '% of final report % cannot be %', what, new.report_id,
            case tg_op when 'INSERT' then 'added' else 'changed' end
            using errcode = 'restrict_violation';
    end if;
    new.final := coalesce(report_status = 'final', false);
    return new;
end
$$;

create trigger financial_report_lines_guard before insert or update or delete on financial_report_lines
    for each row execute function app.guard_report_item();
create trigger kpi_values_guard before insert or update or delete on kpi_values
    for each row execute function app.guard_report_item();

-- On finalization, mark the report's lines or values final. Security definer: the API role has no
-- privilege on `final`; the function only ever copies the report's own new status.
create function app.report_finalized() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if tg_table_name = 'financial_reports' then
        update public.financial_report_lines set final = true
        where tenant_id = new.tenant_id and report_id = new.id;
    else
        update public.kpi_values set final = true where tenant_id = new.tenant_id and report_id = new.id;
    end if;
    return null;
end
$$;

create trigger financial_reports_finalized after update of status on financial_reports
    for each row when (old.status = 'draft' and new.status = 'final')
    execute function app.report_finalized();
create trigger kpi_reports_finalized after update of status on kpi_reports
    for each row when (old.status = 'draft' and new.status = 'final')
    execute function app.report_finalized();

-- A definition that final values use keeps its key, unit and currency (their meaning).
create function app.guard_kpi_definition() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if (new.tenant_id, new.id) is distinct from (old.tenant_id, old.id) then
        raise exception 'a KPI definition''s tenant and id are fixed' using errcode = 'check_violation';
    end if;
    if (new.key, new.unit, new.currency) is distinct from (old.key, old.unit, old.currency)
       and exists (select 1 from public.kpi_values v
                   where v.tenant_id = old.tenant_id and v.definition_id = old.id and v.final) then
        raise exception 'KPI % is used by a final report: its key, unit and currency cannot change', old.key
            using errcode = 'restrict_violation';
    end if;
    new.updated_at := now();
    return new;
end
$$;

create trigger kpi_definitions_guard before update on kpi_definitions
    for each row execute function app.guard_kpi_definition();

-- KPI requests: requested → fulfilled | declined (by the startup) or cancelled (by the VC); then fixed.
create function app.kpi_request_changed() returns trigger
    language plpgsql set search_path = ''
as $$
declare
    actor uuid := app.current_tenant();
begin
    if (new.tenant_id, new.id, new.vc_tenant_id, new.period_start, new.period_end, new.kpi_keys, new.message,
        new.due_on, new.requested_by, new.created_at)
       is distinct from (old.tenant_id, old.id, old.vc_tenant_id, old.period_start, old.period_end, old.kpi_keys,
                         old.message, old.due_on, old.requested_by, old.created_at) then
        raise exception 'a KPI request''s parties and contents are fixed' using errcode = 'check_violation';
    end if;
    if old.status <> 'requested' then
        raise exception 'KPI request % is % already', old.id, old.status using errcode = 'check_violation';
    end if;
    if new.status in ('fulfilled', 'declined') and actor is distinct from old.tenant_id then
        raise exception 'only the startup answers a KPI request' using errcode = 'check_violation';
    end if;
    if new.status = 'cancelled' and actor is distinct from old.vc_tenant_id then
        raise exception 'only the requesting VC cancels a KPI request' using errcode = 'check_violation';
    end if;
    if new.status = 'fulfilled' and not exists (
        select 1 from public.kpi_reports r
        where r.tenant_id = new.tenant_id and r.id = new.kpi_report_id and r.status = 'final') then
        raise exception 'a KPI request is fulfilled by a final KPI report' using errcode = 'check_violation';
    end if;
    new.updated_at := now();
    return new;
end
$$;

create trigger kpi_requests_changed before update on kpi_requests
    for each row execute function app.kpi_request_changed();

-- Row-level security ------------------------------------------------------------------------------------

alter table financial_reports enable row level security;
alter table financial_reports force row level security;
create policy financial_reports_read on financial_reports for select using (
    tenant_id = (select app.current_tenant())
    or (status = 'final' and tenant_id = any (array(select unnest(app.granted_tenants('financials')))))
);
create policy financial_reports_insert on financial_reports for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'startup'
);
create policy financial_reports_update on financial_reports for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy financial_reports_delete on financial_reports for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table financial_report_lines enable row level security;
alter table financial_report_lines force row level security;
create policy financial_report_lines_read on financial_report_lines for select using (
    tenant_id = (select app.current_tenant())
    or (final and tenant_id = any (array(select unnest(app.granted_tenants('financials')))))
);
create policy financial_report_lines_insert on financial_report_lines for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);
create policy financial_report_lines_update on financial_report_lines for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy financial_report_lines_delete on financial_report_lines for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table kpi_definitions enable row level security;
alter table kpi_definitions force row level security;
-- Definitions name and describe the values, so a granted VC reads them (no values come with them).
create policy kpi_definitions_read on kpi_definitions for select using (
    tenant_id = (select app.current_tenant())
    or tenant_id = any (array(select unnest(app.granted_tenants('financials'))))
);
create policy kpi_definitions_insert on kpi_definitions for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'startup'
);
create policy kpi_definitions_update on kpi_definitions for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy kpi_definitions_delete on kpi_definitions for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table kpi_reports enable row level security;
alter table kpi_reports force row level security;
create policy kpi_reports_read on kpi_reports for select using (
    tenant_id = (select app.current_tenant())
    or (status = 'final' and tenant_id = any (array(select unnest(app.granted_tenants('financials')))))
);
create policy kpi_reports_insert on kpi_reports for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'startup'
);
create policy kpi_reports_update on kpi_reports for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy kpi_reports_delete on kpi_reports for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table kpi_values enable row level security;
alter table kpi_values force row level security;
create policy kpi_values_read on kpi_values for select using (
    tenant_id = (select app.current_tenant())
    or (final and tenant_id = any (array(select unnest(app.granted_tenants('financials')))))
);
create policy kpi_values_insert on kpi_values for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);
create policy kpi_values_update on kpi_values for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy kpi_values_delete on kpi_values for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table kpi_requests enable row level security;
alter table kpi_requests force row level security;
-- Both parties read a request, whatever became of the grant since (it is their correspondence).
create policy kpi_requests_read on kpi_requests for select using (
    tenant_id = (select app.current_tenant()) or vc_tenant_id = (select app.current_tenant())
);
-- A VC's writer asks a startup that granted it `financials`; nothing is answered yet.
create policy kpi_requests_insert on kpi_requests for insert with check (
    vc_tenant_id = (select app.current_tenant()) and (select app.can_write())
    and tenant_id = any (array(select unnest(app.granted_tenants('financials'))))
    and status = 'requested' and kpi_report_id is null and responded_by is null and response = ''
);
-- The startup answers, the VC cancels; the trigger decides which status each side may set.
create policy kpi_requests_update on kpi_requests for update
    using ((tenant_id = (select app.current_tenant()) or vc_tenant_id = (select app.current_tenant()))
           and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()) or vc_tenant_id = (select app.current_tenant()));

-- Privileges of the API group ---------------------------------------------------------------------------

revoke all on financial_reports, financial_report_lines, kpi_definitions, kpi_reports, kpi_values, kpi_requests
    from public;
revoke execute on function app.guard_report(), app.guard_report_item(), app.report_finalized(),
    app.guard_kpi_definition(), app.kpi_request_changed() from public;

grant select, insert (tenant_id, id, statement, period_start, period_end, currency, created_by),
    update (statement, period_start, period_end, currency, status), delete
    on financial_reports to roundpool_api;
grant select, insert (tenant_id, report_id, line_key, label, amount, position),
    update (label, amount, position), delete
    on financial_report_lines to roundpool_api;
grant select, insert (tenant_id, id, key, name, unit, currency, direction),
    update (key, name, unit, currency, direction), delete
    on kpi_definitions to roundpool_api;
grant select, insert (tenant_id, id, period_start, period_end, created_by),
    update (period_start, period_end, status), delete
    on kpi_reports to roundpool_api;
grant select, insert (tenant_id, report_id, definition_id, value), update (value), delete
    on kpi_values to roundpool_api;
grant select, insert (tenant_id, id, vc_tenant_id, period_start, period_end, kpi_keys, message, due_on,
                      requested_by),
    update (status, response, kpi_report_id, responded_by)
    on kpi_requests to roundpool_api;
