-- Cap table and funds (revision 0002). Frozen once released: later changes go in a new file.
--
-- The cap table is an append-only ledger of OCF-shaped objects (`captable_objects`): corrections are new
-- events, never edits. Derived state (`captable_snapshots`, `captable_holdings`) is recomputed by replay in the
-- same transaction as every ledger write or link change, so the VC portfolio reads it without replaying.
-- Reads: the acting tenant, or a startup that granted the acting VC the `captable` scope (holdings and links:
-- only the grantee's own rows). Writes: the acting tenant only, roles above viewer (`app.can_write()`).
-- Funds belong to a VC and are visible to nobody else.


-- Ledger --------------------------------------------------------------------------------------------------

create table captable_objects (
    tenant_id uuid not null references tenants (id),
    id text not null check (length(id) between 1 and 200),
    object_type text not null check (object_type ~ '^[A-Z][A-Z0-9_]*$'),
    seq bigint generated always as identity,
    effective_date date,
    payload jsonb not null check (jsonb_typeof(payload) = 'object'),
    created_at timestamptz not null default now(),
    created_by uuid default app.current_user_id(),
    primary key (tenant_id, id)
);
create index captable_objects_seq_idx on captable_objects (tenant_id, seq);

create function app.reject_ledger_change() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    raise exception 'the cap-table ledger is append-only; record a correcting event instead'
        using errcode = 'insufficient_privilege';
end
$$;

create trigger captable_objects_append_only before update or delete on captable_objects
    for each row execute function app.reject_ledger_change();
create trigger captable_objects_no_truncate before truncate on captable_objects
    for each statement execute function app.reject_ledger_change();

-- The startup says which of its stakeholders are a VC's holdings.
create table stakeholder_links (
    tenant_id uuid not null references tenants (id),
    stakeholder_id text not null,
    vc_tenant_id uuid not null references tenants (id),
    created_at timestamptz not null default now(),
    created_by uuid default app.current_user_id(),
    primary key (tenant_id, stakeholder_id),
    foreign key (tenant_id, stakeholder_id) references captable_objects (tenant_id, id),
    check (tenant_id <> vc_tenant_id)
);
create index stakeholder_links_vc_idx on stakeholder_links (tenant_id, vc_tenant_id);

-- Derived: the cap table as of `as_of` (replayed at `computed_at`, through ledger row `ledger_seq`).
create table captable_snapshots (
    tenant_id uuid not null primary key references tenants (id),
    computed_at timestamptz not null default now(),
    as_of date not null,
    ledger_seq bigint not null default 0,
    outstanding numeric not null,
    fully_diluted numeric not null,
    price_per_share numeric,
    price_date date,
    currency text check (currency ~ '^[A-Z]{3}$'),
    positions jsonb not null default '[]',
    ownership_by_class jsonb not null default '{}',
    pools jsonb not null default '[]'
);

-- Derived: each linked VC's holding in the company (engine's holding_metrics over the linked stakeholders).
create table captable_holdings (
    tenant_id uuid not null references tenants (id),
    vc_tenant_id uuid not null references tenants (id),
    stakeholder_ids text[] not null,
    ownership numeric not null,
    fully_diluted_ownership numeric not null,
    invested numeric not null,
    holding_value numeric,
    value_by_stakeholder jsonb not null default '{}',
    primary key (tenant_id, vc_tenant_id),
    foreign key (tenant_id) references captable_snapshots (tenant_id) on delete cascade
);

-- Funds (VC-owned) ------------------------------------------------------------------------------------------

create table funds (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    name text not null check (length(name) between 1 and 200),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    vintage_year int check (vintage_year between 1900 and 2200),
    created_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create unique index funds_name_idx on funds (tenant_id, name);

create table fund_commitments (
    tenant_id uuid not null,
    id uuid not null default gen_random_uuid(),
    fund_id uuid not null,
    limited_partner text not null check (length(limited_partner) between 1 and 200),
    amount numeric not null check (amount > 0),
    committed_on date not null,
    primary key (tenant_id, id),
    foreign key (tenant_id, fund_id) references funds (tenant_id, id) on delete cascade
);
create index fund_commitments_fund_idx on fund_commitments (tenant_id, fund_id);

create table capital_calls (
    tenant_id uuid not null,
    id uuid not null default gen_random_uuid(),
    fund_id uuid not null,
    call_date date not null,
    amount numeric not null check (amount > 0),
    primary key (tenant_id, id),
    foreign key (tenant_id, fund_id) references funds (tenant_id, id) on delete cascade
);
create index capital_calls_fund_idx on capital_calls (tenant_id, fund_id, call_date);

create table distributions (
    tenant_id uuid not null,
    id uuid not null default gen_random_uuid(),
    fund_id uuid not null,
    distribution_date date not null,
    amount numeric not null check (amount > 0),
    primary key (tenant_id, id),
    foreign key (tenant_id, fund_id) references funds (tenant_id, id) on delete cascade
);
create index distributions_fund_idx on distributions (tenant_id, fund_id, distribution_date);

-- A fund's share of a portfolio holding: the stakeholder a startup linked to this VC.
create table fund_investments (
    tenant_id uuid not null,
    id uuid not null default gen_random_uuid(),
    fund_id uuid not null,
    company_tenant_id uuid not null references tenants (id),
    stakeholder_id text not null,
    allocation numeric not null default 1 check (allocation > 0 and allocation <= 1),
    primary key (tenant_id, id),
    foreign key (tenant_id, fund_id) references funds (tenant_id, id) on delete cascade,
    check (tenant_id <> company_tenant_id)
);
create unique index fund_investments_holding_idx on fund_investments (tenant_id, fund_id, company_tenant_id, stakeholder_id);

-- Funds belong to VC tenants only.
create function app.check_fund_owner() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if (select kind from public.tenants where id = new.tenant_id) <> 'vc' then
        raise exception 'funds belong to VC tenants' using errcode = 'check_violation';
    end if;
    return new;
end
$$;
create trigger funds_owner_is_vc before insert or update on funds
    for each row execute function app.check_fund_owner();

-- Row-level security ------------------------------------------------------------------------------------

alter table captable_objects enable row level security;
alter table captable_objects force row level security;
create policy captable_objects_read on captable_objects for select using (
    tenant_id = (select app.current_tenant())
    or tenant_id = any (array(select unnest(app.granted_tenants('captable'))))
);
create policy captable_objects_append on captable_objects for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'startup'
);

alter table stakeholder_links enable row level security;
alter table stakeholder_links force row level security;
create policy stakeholder_links_read on stakeholder_links for select using (
    tenant_id = (select app.current_tenant())
    or (tenant_id = any (array(select unnest(app.granted_tenants('captable'))))
        and vc_tenant_id = (select app.current_tenant()))
);
create policy stakeholder_links_insert on stakeholder_links for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'startup'
);
create policy stakeholder_links_update on stakeholder_links for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy stakeholder_links_delete on stakeholder_links for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table captable_snapshots enable row level security;
alter table captable_snapshots force row level security;
create policy captable_snapshots_read on captable_snapshots for select using (
    tenant_id = (select app.current_tenant())
    or tenant_id = any (array(select unnest(app.granted_tenants('captable'))))
);
create policy captable_snapshots_insert on captable_snapshots for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'startup'
);
create policy captable_snapshots_update on captable_snapshots for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));

alter table captable_holdings enable row level security;
alter table captable_holdings force row level security;
create policy captable_holdings_read on captable_holdings for select using (
    tenant_id = (select app.current_tenant())
    or (tenant_id = any (array(select unnest(app.granted_tenants('captable'))))
        and vc_tenant_id = (select app.current_tenant()))
);
create policy captable_holdings_insert on captable_holdings for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'startup'
);
create policy captable_holdings_delete on captable_holdings for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

-- The fund tables share one shape: the VC's own rows only; writers above viewer.
alter table funds enable row level security;
alter table funds force row level security;
create policy funds_read on funds for select using (tenant_id = (select app.current_tenant()));
create policy funds_insert on funds for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'vc'
);
create policy funds_update on funds for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy funds_delete on funds for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table fund_commitments enable row level security;
alter table fund_commitments force row level security;
create policy fund_commitments_read on fund_commitments for select using (tenant_id = (select app.current_tenant()));
create policy fund_commitments_insert on fund_commitments for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);
create policy fund_commitments_update on fund_commitments for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy fund_commitments_delete on fund_commitments for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table capital_calls enable row level security;
alter table capital_calls force row level security;
create policy capital_calls_read on capital_calls for select using (tenant_id = (select app.current_tenant()));
create policy capital_calls_insert on capital_calls for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);
create policy capital_calls_update on capital_calls for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy capital_calls_delete on capital_calls for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table distributions enable row level security;
alter table distributions force row level security;
create policy distributions_read on distributions for select using (tenant_id = (select app.current_tenant()));
create policy distributions_insert on distributions for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);
create policy distributions_update on distributions for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy distributions_delete on distributions for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table fund_investments enable row level security;
alter table fund_investments force row level security;
create policy fund_investments_read on fund_investments for select using (tenant_id = (select app.current_tenant()));
create policy fund_investments_insert on fund_investments for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);
create policy fund_investments_update on fund_investments for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy fund_investments_delete on fund_investments for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

-- Privileges of the API group ---------------------------------------------------------------------------

revoke all on captable_objects, stakeholder_links, captable_snapshots, captable_holdings, funds,
    fund_commitments, capital_calls, distributions, fund_investments from public;
revoke execute on function app.reject_ledger_change(), app.check_fund_owner() from public;
grant execute on function app.reject_ledger_change(), app.check_fund_owner() to roundpool_api;

grant select, insert on captable_objects to roundpool_api;
grant select, insert, update (vc_tenant_id), delete on stakeholder_links to roundpool_api;
grant select, insert, update on captable_snapshots to roundpool_api;
grant select, insert, delete on captable_holdings to roundpool_api;
grant select, insert, update (name, currency, vintage_year), delete on funds to roundpool_api;
grant select, insert, update (limited_partner, amount, committed_on), delete on fund_commitments to roundpool_api;
grant select, insert, update (call_date, amount), delete on capital_calls to roundpool_api;
grant select, insert, update (distribution_date, amount), delete on distributions to roundpool_api;
grant select, insert, update (allocation), delete on fund_investments to roundpool_api;
