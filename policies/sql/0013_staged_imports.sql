-- Staged cap-table imports: drafts a founder inspects and corrects before committing (revision 0013). Frozen once released: later changes go in a new file.
--
-- A draft holds an uploaded package (OCF, upgraded to the current schema, or JOCF) item by item. The founder
-- reads its problems, fixes or drops items, and commits: only then are items appended to `captable_objects`.
-- Drafts are the acting startup's own data (no grantee sees them) and only its writers touch them. A draft is
-- open until it is committed or it expires (`expires_at`, set here, never by a client); an expired or
-- committed draft is read-only: its items cannot change and it cannot be committed.

create table staged_imports (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    format text not null check (format in ('OCF', 'JOCF')),
    source_version text check (length(source_version) <= 100),
    manifest jsonb not null default '{}' check (jsonb_typeof(manifest) = 'object'),
    changes jsonb not null default '[]' check (jsonb_typeof(changes) = 'array'),
    status text not null default 'open' check (status in ('open', 'committed')),
    created_by uuid default app.current_user_id(),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null default now() + interval '7 days',
    committed_at timestamptz,
    primary key (tenant_id, id),
    check ((status = 'committed') = (committed_at is not null))
);
create index staged_imports_expiry_idx on staged_imports (tenant_id, expires_at);

create table staged_import_items (
    tenant_id uuid not null,
    import_id uuid not null,
    position int not null check (position >= 0),
    file_type text not null check (file_type ~ '^[A-Z][A-Z0-9_]*$'),
    filepath text not null default '' check (length(filepath) <= 1000),
    item jsonb not null check (jsonb_typeof(item) = 'object'),
    dropped boolean not null default false,
    edited boolean not null default false,
    primary key (tenant_id, import_id, position),
    foreign key (tenant_id, import_id) references staged_imports (tenant_id, id) on delete cascade
);

-- The draft is open: not committed and not expired (as of this statement).
create function app.staged_import_open(draft_tenant uuid, draft_id uuid) returns boolean
    language sql stable set search_path = ''
as $$
    select exists (
        select 1 from public.staged_imports d
        where d.tenant_id = draft_tenant and d.id = draft_id
          and d.status = 'open' and d.expires_at > statement_timestamp()
    )
$$;

-- Lifecycle: a new draft starts open with the server's clock; the only change is open → committed, before expiry.
create function app.staged_import_changed() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        new.status := 'open';
        new.created_at := now();
        new.expires_at := now() + interval '7 days';
        new.committed_at := null;
        new.created_by := app.current_user_id();
        return new;
    end if;
    if old.status <> 'open' then
        raise exception 'staged import % is already committed', old.id
            using errcode = 'check_violation', constraint = 'staged_import_open';
    end if;
    if old.expires_at <= statement_timestamp() then
        raise exception 'staged import % expired at %', old.id, old.expires_at
            using errcode = 'check_violation', constraint = 'staged_import_open';
    end if;
    if new.status <> 'committed' then
        raise exception 'a staged import only changes by being committed'
            using errcode = 'check_violation', constraint = 'staged_import_open';
    end if;
    new.committed_at := now();
    return new;
end
$$;
create trigger staged_imports_lifecycle before insert or update on staged_imports
    for each row execute function app.staged_import_changed();

-- Row-level security ------------------------------------------------------------------------------------

alter table staged_imports enable row level security;
alter table staged_imports force row level security;
create policy staged_imports_read on staged_imports for select using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);
create policy staged_imports_insert on staged_imports for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and (select app.current_tenant_kind()) = 'startup'
);
create policy staged_imports_update on staged_imports for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write()))
    with check (tenant_id = (select app.current_tenant()));
create policy staged_imports_delete on staged_imports for delete using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);

alter table staged_import_items enable row level security;
alter table staged_import_items force row level security;
create policy staged_import_items_read on staged_import_items for select using (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
);
create policy staged_import_items_insert on staged_import_items for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.can_write())
    and app.staged_import_open(tenant_id, import_id)
);
create policy staged_import_items_update on staged_import_items for update
    using (tenant_id = (select app.current_tenant()) and (select app.can_write())
           and app.staged_import_open(tenant_id, import_id))
    with check (tenant_id = (select app.current_tenant()) and app.staged_import_open(tenant_id, import_id));

-- The ledger's value rule (0009) refused OCF's AuthorizedShares enum; a class may be authorized UNLIMITED or
-- NOT APPLICABLE (JOCF classes without 発行可能種類株式総数 map to the latter).
create or replace function app.json_number_or_authorized_fits(value jsonb) returns boolean
    language sql immutable parallel safe set search_path = ''
as $$
    select coalesce(value #>> '{}' in ('UNLIMITED', 'NOT APPLICABLE'), false)
        or app.json_number_fits(value, 0, true)
$$;

-- 0009's ledger value trigger, with that one rule changed.
create or replace function app.check_captable_values() returns trigger
    language plpgsql set search_path = ''
as $$
declare
    p jsonb := new.payload;
    t text := new.object_type;
    bad text;
begin
    bad := case
        when t like 'TX\_%\_ISSUANCE' and not app.json_number_fits(p -> 'quantity', 0, false) then 'quantity'
        when t ~ '^TX_.*_(TRANSFER|CANCELLATION|REPURCHASE|EXERCISE|CONVERSION|RETRACTION)$'
             and not app.json_number_fits(p -> 'quantity', 0, false) then 'quantity'
        when t in ('STOCK_CLASS', 'ISSUER') and not app.json_number_or_authorized_fits(p -> 'initial_shares_authorized')
             then 'initial_shares_authorized'
        when t = 'STOCK_CLASS' and not app.json_number_fits(p -> 'votes_per_share', 0, true) then 'votes_per_share'
        when t = 'STOCK_CLASS' and not app.json_number_fits(p -> 'seniority', 0, true) then 'seniority'
        when t = 'STOCK_PLAN' and not app.json_number_fits(p -> 'initial_shares_reserved', 0, true)
             then 'initial_shares_reserved'
        when t like 'TX\_%\_AUTHORIZED\_SHARES\_ADJUSTMENT'
             and not app.json_number_fits(p -> 'new_shares_authorized', 0, true) then 'new_shares_authorized'
        when t = 'TX_STOCK_PLAN_POOL_ADJUSTMENT' and not app.json_number_fits(p -> 'shares_reserved', 0, true)
             then 'shares_reserved'
        when t = 'TX_STOCK_CLASS_SPLIT' and not (
                app.json_number_fits(p #> '{split_ratio,numerator}', 0, false)
                and app.json_number_fits(p #> '{split_ratio,denominator}', 0, false)) then 'split_ratio'
        when not app.json_number_fits(p #> '{share_price,amount}', 0, true) then 'share_price.amount'
        when not app.json_number_fits(p #> '{exercise_price,amount}', 0, true) then 'exercise_price.amount'
        when not app.json_number_fits(p #> '{investment_amount,amount}', 0, true) then 'investment_amount.amount'
        when not app.json_number_fits(p #> '{price_per_share,amount}', 0, true) then 'price_per_share.amount'
        else null
    end;
    if bad is not null then
        raise exception '% %: % is out of range', t, new.id, bad
            using errcode = 'check_violation', column = bad, constraint = 'captable_objects_values_fit';
    end if;
    return new;
end
$$;

-- Privileges of the API group ---------------------------------------------------------------------------

revoke all on staged_imports, staged_import_items from public;
revoke execute on function app.staged_import_open(uuid, uuid), app.staged_import_changed(),
    app.json_number_or_authorized_fits(jsonb) from public;
grant execute on function app.staged_import_open(uuid, uuid), app.staged_import_changed(),
    app.json_number_or_authorized_fits(jsonb) to roundpool_api;

grant select, insert, update (status), delete on staged_imports to roundpool_api;
grant select, insert, update (item, dropped, edited) on staged_import_items to roundpool_api;
