-- Billing (revision 0005). Frozen once released: later changes go in a new file.
--
-- Operator-side configuration (tenant_id = the operator; its billing admins only):
--   pricing_plans, pricing_plan_versions   versioned plans; a version's `definition` is cost.billing.PlanVersion
--                                          serialised (rules, exclusions, commitments, currency, rounding)
--   exchange_rates                         monthly rates from the CUR currency (USD) to invoice currencies
--   cost_categories                        allocation rules (cost.billing.CostCategories serialised)
--   billing_issuers                        the operator's own details printed on its invoices
--   invoice_counters                       the next invoice number; advanced only by the closing trigger
--   invoice_runs                           progress of a "close every billed tenant" job
-- Customer-side rows (tenant_id = the customer; written by its operator's billing admins):
--   customer_billing, custom_line_items    plan, currency, tax, legal details; one-off/recurring fees, credits
--   invoices, invoice_lines                draft → closed (numbered, immutable) → void (with a credit note)
--
-- Readers of invoices: billing admins of the operator (every status), the customer itself and VCs it granted
-- `invoices` (closed and void only: drafts are the operator's working state). Nobody else reads anything here.
-- Invoices hold no operator cost or margin (customers read them); margins are computed for billing admins.


-- Operator configuration ------------------------------------------------------------------------------

create table pricing_plans (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    name text not null check (length(name) between 1 and 200),
    created_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create unique index pricing_plans_name_idx on pricing_plans (tenant_id, name);

create table pricing_plan_versions (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    plan_id uuid not null,
    version integer not null check (version >= 1),
    valid_from text not null check (valid_from ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    definition jsonb not null check (jsonb_typeof(definition) = 'object'),
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, plan_id) references pricing_plans (tenant_id, id),
    unique (tenant_id, plan_id, version),
    unique (tenant_id, plan_id, valid_from)
);

create table exchange_rates (
    tenant_id uuid not null references tenants (id),
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    rate numeric not null check (rate > 0),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, period, currency)
);

create table cost_categories (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    name text not null check (length(name) between 1 and 200),
    definition jsonb not null check (jsonb_typeof(definition) = 'object'),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create unique index cost_categories_name_idx on cost_categories (tenant_id, name);

create table billing_issuers (
    tenant_id uuid not null primary key references tenants (id),
    legal_name text not null check (length(legal_name) between 1 and 300),
    address text not null default '' check (length(address) <= 1000),
    tax_id text not null default '' check (length(tax_id) <= 100),
    email text not null default '' check (length(email) <= 300),
    updated_at timestamptz not null default now()
);

create table invoice_counters (
    tenant_id uuid not null primary key references tenants (id),
    next_number bigint not null default 1 check (next_number >= 1)
);

create table invoice_runs (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed')),
    total integer not null default 0 check (total >= 0),
    closed integer not null default 0 check (closed >= 0),
    already_closed integer not null default 0 check (already_closed >= 0),
    no_data integer not null default 0 check (no_data >= 0),
    failed integer not null default 0 check (failed >= 0),
    errors jsonb not null default '[]' check (jsonb_typeof(errors) = 'array'),
    job_id bigint,
    created_by uuid not null references users (id),
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz,
    primary key (tenant_id, id)
);
create index invoice_runs_created_idx on invoice_runs (tenant_id, created_at, id);

-- Customer rows ------------------------------------------------------------------------------------------

create table customer_billing (
    tenant_id uuid not null primary key references tenants (id),   -- the customer
    operator_id uuid not null references tenants (id),
    plan_id uuid,
    currency text not null default 'USD' check (currency ~ '^[A-Z]{3}$'),
    tax_rate_percent numeric not null default 0 check (tax_rate_percent >= 0 and tax_rate_percent <= 100),
    tax_name text not null default 'Tax' check (length(tax_name) between 1 and 100),
    legal_name text not null default '' check (length(legal_name) <= 300),
    address text not null default '' check (length(address) <= 1000),
    email text not null default '' check (length(email) <= 300),
    updated_at timestamptz not null default now(),
    foreign key (operator_id, plan_id) references pricing_plans (tenant_id, id)
);

create table custom_line_items (
    tenant_id uuid not null references tenants (id),               -- the customer
    id uuid not null default gen_random_uuid(),
    operator_id uuid not null references tenants (id),
    description text not null check (length(description) between 1 and 300),
    kind text not null check (kind in ('FEE', 'CREDIT')),
    amount_type text not null check (amount_type in ('FLAT', 'PERCENT')),
    value numeric not null check (value >= 0),
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    recurrence text not null default 'ONE_OFF' check (recurrence in ('ONE_OFF', 'RECURRING')),
    until text check (until ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    currency text check (currency ~ '^[A-Z]{3}$'),
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    primary key (tenant_id, id)
);

create table invoices (
    tenant_id uuid not null references tenants (id),               -- the customer billed
    id uuid not null default gen_random_uuid(),
    operator_id uuid not null references tenants (id),
    number bigint,                                                 -- per operator, gapless, set at close
    kind text not null default 'invoice' check (kind in ('invoice', 'credit_note')),
    period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    status text not null default 'draft' check (status in ('draft', 'closed', 'void')),
    currency text not null check (currency ~ '^[A-Z]{3}$'),
    subtotal numeric not null,
    tax numeric not null,
    total numeric not null,
    plan_version_id uuid,
    idempotency_key text check (length(idempotency_key) between 1 and 200),
    replaces_id uuid,
    credit_note_for_id uuid,
    bill_from jsonb not null default '{}' check (jsonb_typeof(bill_from) = 'object'),
    bill_to jsonb not null default '{}' check (jsonb_typeof(bill_to) = 'object'),
    void_reason text check (length(void_reason) between 1 and 1000),
    created_by uuid references users (id),
    created_at timestamptz not null default now(),
    closed_at timestamptz,
    closed_by uuid references users (id),
    voided_at timestamptz,
    voided_by uuid references users (id),
    primary key (tenant_id, id),
    foreign key (tenant_id, replaces_id) references invoices (tenant_id, id),
    foreign key (tenant_id, credit_note_for_id) references invoices (tenant_id, id),
    check (total = subtotal + tax),
    check ((status = 'draft') = (number is null)),
    check ((status = 'void') = (void_reason is not null)),
    check ((kind = 'credit_note') = (credit_note_for_id is not null))
);
-- Exactly one closed, non-voided invoice per customer and period.
create unique index invoices_one_closed_idx on invoices (tenant_id, period)
    where status = 'closed' and kind = 'invoice';
create unique index invoices_number_idx on invoices (operator_id, number);
create unique index invoices_idempotency_idx on invoices (operator_id, idempotency_key)
    where idempotency_key is not null;
create index invoices_period_idx on invoices (tenant_id, period, created_at, id);

create table invoice_lines (
    tenant_id uuid not null references tenants (id),
    invoice_id uuid not null,
    position integer not null check (position >= 0),
    kind text not null check (kind in ('USAGE', 'FEE', 'CREDIT', 'TAX', 'CORRECTION')),
    service text,
    description text not null,
    quantity numeric,
    unit text,
    amount numeric not null,
    primary key (tenant_id, invoice_id, position),
    foreign key (tenant_id, invoice_id) references invoices (tenant_id, id)
);

-- Invoice lifecycle ----------------------------------------------------------------------------------------

-- draft → closed: the number comes from the operator's counter (a row lock held until commit, so a rolled
-- back close consumes nothing), the lines must sum to the total. closed → void: only status, reason and the
-- void stamp change. A void invoice and a closed credit note never change. Only drafts are deleted.
-- Security definer: the API role cannot write invoice_counters or audit_events itself.
create function app.invoice_guard() returns trigger
    language plpgsql security definer set search_path = ''
as $$
declare
    line_sum numeric;
begin
    if tg_op = 'DELETE' then
        if old.status <> 'draft' then
            raise exception 'invoice % is % and cannot be deleted', old.id, old.status
                using errcode = 'restrict_violation';
        end if;
        return old;
    end if;
    if tg_op = 'INSERT' then
        if new.status <> 'draft' then
            raise exception 'an invoice is created as a draft' using errcode = 'check_violation';
        end if;
        if new.operator_id is distinct from (select t.operator_id from public.tenants t where t.id = new.tenant_id)
        then
            raise exception 'invoice operator is not the operator that bills tenant %', new.tenant_id
                using errcode = 'check_violation';
        end if;
        new.created_by := app.current_user_id();
        new.number := null;
        return new;
    end if;
    if old.status = 'void' or (old.status = 'closed' and new.status <> 'void') then
        raise exception 'invoice % is % and cannot be changed', coalesce(old.number::text, old.id::text), old.status
            using errcode = 'restrict_violation';
    end if;
    if old.status = 'closed' then  -- → void
        if old.kind = 'credit_note' then
            raise exception 'a credit note cannot be voided' using errcode = 'restrict_violation';
        end if;
        if to_jsonb(new) - array['status', 'void_reason', 'voided_at', 'voided_by']
           <> to_jsonb(old) - array['status', 'void_reason', 'voided_at', 'voided_by'] then
            raise exception 'voiding invoice % changes nothing but its status and reason', old.number
                using errcode = 'restrict_violation';
        end if;
        if coalesce(btrim(new.void_reason), '') = '' then
            raise exception 'voiding an invoice needs a reason' using errcode = 'check_violation';
        end if;
        new.voided_at := clock_timestamp();
        new.voided_by := app.current_user_id();
        return new;
    end if;
    -- old.status = 'draft'
    if (new.tenant_id, new.id, new.operator_id, new.kind) is distinct from
       (old.tenant_id, old.id, old.operator_id, old.kind) then
        raise exception 'an invoice''s tenant, operator and kind are fixed' using errcode = 'check_violation';
    end if;
    if new.status = 'void' then
        raise exception 'a draft is deleted, not voided' using errcode = 'check_violation';
    end if;
    if new.status = 'closed' then
        select coalesce(sum(l.amount), 0) into line_sum from public.invoice_lines l
        where l.tenant_id = new.tenant_id and l.invoice_id = new.id;
        if line_sum <> new.total then
            raise exception 'invoice lines sum to % but the total is %', line_sum, new.total
                using errcode = 'check_violation';
        end if;
        insert into public.invoice_counters as c (tenant_id, next_number) values (new.operator_id, 2)
        on conflict (tenant_id) do update set next_number = c.next_number + 1
        returning c.next_number - 1 into new.number;
        new.closed_at := clock_timestamp();
        new.closed_by := app.current_user_id();
    else
        new.number := null;
    end if;
    return new;
end
$$;

create trigger invoices_guard before insert or update or delete on invoices
    for each row execute function app.invoice_guard();

-- Every state change, in the customer's and the operator's trails.
create function app.invoice_changed() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    insert into public.audit_events (tenant_id, actor_user_id, actor_tenant_id, action, subject_type,
                                     subject_id, details)
    select t, app.current_user_id(), app.current_tenant(),
           case when new.status = 'void' then 'invoice.voided'
                when new.kind = 'credit_note' then 'credit_note.closed'
                else 'invoice.closed' end,
           'invoice', new.id::text,
           jsonb_build_object('number', new.number, 'period', new.period, 'kind', new.kind,
                              'status', new.status, 'currency', new.currency, 'total', new.total,
                              'customer_tenant_id', new.tenant_id, 'operator_id', new.operator_id,
                              'void_reason', new.void_reason, 'replaces_id', new.replaces_id,
                              'credit_note_for_id', new.credit_note_for_id)
    from unnest(array[new.tenant_id, new.operator_id]) t;
    return null;
end
$$;

create trigger invoices_changed after update of status on invoices
    for each row when (old.status is distinct from new.status) execute function app.invoice_changed();

-- Lines change only while their invoice is a draft.
create function app.invoice_line_guard() returns trigger
    language plpgsql security definer set search_path = ''
as $$
declare
    invoice_status text;
    key_tenant uuid;
    key_invoice uuid;
begin
    if tg_op = 'DELETE' then
        key_tenant := old.tenant_id;
        key_invoice := old.invoice_id;
    else
        key_tenant := new.tenant_id;
        key_invoice := new.invoice_id;
    end if;
    if tg_op = 'UPDATE' and (new.tenant_id, new.invoice_id) is distinct from (old.tenant_id, old.invoice_id) then
        raise exception 'a line stays on its invoice' using errcode = 'check_violation';
    end if;
    select i.status into invoice_status from public.invoices i where i.tenant_id = key_tenant and i.id = key_invoice;
    if invoice_status is not null and invoice_status <> 'draft' then
        raise exception 'lines of a % invoice cannot be %', invoice_status,
            case tg_op when 'INSERT' then 'added' when 'DELETE' then 'deleted' else 'changed' end
            using errcode = 'restrict_violation';
    end if;
    if tg_op = 'DELETE' then
        return old;
    end if;
    return new;
end
$$;

create trigger invoice_lines_guard before insert or update or delete on invoice_lines
    for each row execute function app.invoice_line_guard();

create function app.reject_truncate() returns trigger
    language plpgsql set search_path = ''
as $$ begin raise exception '% cannot be truncated', tg_table_name using errcode = 'insufficient_privilege'; end $$;

create trigger invoices_no_truncate before truncate on invoices
    for each statement execute function app.reject_truncate();
create trigger invoice_lines_no_truncate before truncate on invoice_lines
    for each statement execute function app.reject_truncate();

-- Counters move only through the closing trigger, one step at a time.
create function app.invoice_counter_guard() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if tg_op = 'DELETE' or new.tenant_id <> old.tenant_id or new.next_number <> old.next_number + 1 then
        raise exception 'invoice numbers only advance by one, at close' using errcode = 'restrict_violation';
    end if;
    return new;
end
$$;

create trigger invoice_counters_guard before update or delete on invoice_counters
    for each row execute function app.invoice_counter_guard();

-- Customer rows name the operator that bills the customer, nothing else.
create function app.check_billed_by_operator() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if new.operator_id is distinct from (select t.operator_id from public.tenants t where t.id = new.tenant_id) then
        raise exception 'tenant % is not billed by operator %', new.tenant_id, new.operator_id
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;

create trigger customer_billing_operator before insert or update on customer_billing
    for each row execute function app.check_billed_by_operator();
create trigger custom_line_items_operator before insert or update on custom_line_items
    for each row execute function app.check_billed_by_operator();

-- Row-level security ------------------------------------------------------------------------------------

-- Operator configuration: the acting operator's billing admins.
alter table pricing_plans enable row level security;
alter table pricing_plans force row level security;
create policy pricing_plans_admin on pricing_plans for all
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin');

alter table pricing_plan_versions enable row level security;
alter table pricing_plan_versions force row level security;
create policy pricing_plan_versions_admin on pricing_plan_versions for all
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin');

alter table exchange_rates enable row level security;
alter table exchange_rates force row level security;
create policy exchange_rates_admin on exchange_rates for all
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin');

alter table cost_categories enable row level security;
alter table cost_categories force row level security;
create policy cost_categories_admin on cost_categories for all
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin');

alter table billing_issuers enable row level security;
alter table billing_issuers force row level security;
create policy billing_issuers_admin on billing_issuers for all
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin');

alter table invoice_counters enable row level security;
alter table invoice_counters force row level security;
create policy invoice_counters_read on invoice_counters for select using (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
);

alter table invoice_runs enable row level security;
alter table invoice_runs force row level security;
create policy invoice_runs_read on invoice_runs for select using (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
);
create policy invoice_runs_insert on invoice_runs for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
    and created_by = (select app.current_user_id()) and status = 'queued'
);
create policy invoice_runs_update on invoice_runs for update
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()));

-- Customer rows: the billing admins of the customer's operator.
alter table customer_billing enable row level security;
alter table customer_billing force row level security;
create policy customer_billing_admin on customer_billing for all
    using (tenant_id = any (array(select unnest(app.billed_tenants()))))
    with check (tenant_id = any (array(select unnest(app.billed_tenants())))
                and operator_id = (select app.current_tenant()));

alter table custom_line_items enable row level security;
alter table custom_line_items force row level security;
create policy custom_line_items_admin on custom_line_items for all
    using (tenant_id = any (array(select unnest(app.billed_tenants()))))
    with check (tenant_id = any (array(select unnest(app.billed_tenants())))
                and operator_id = (select app.current_tenant()));

alter table invoices enable row level security;
alter table invoices force row level security;
create policy invoices_read on invoices for select using (
    tenant_id = any (array(select unnest(app.billed_tenants())))
    or (status in ('closed', 'void')
        and (tenant_id = (select app.current_tenant())
             or tenant_id = any (array(select unnest(app.granted_tenants('invoices'))))))
);
create policy invoices_insert on invoices for insert with check (
    tenant_id = any (array(select unnest(app.billed_tenants()))) and operator_id = (select app.current_tenant())
);
create policy invoices_update on invoices for update
    using (tenant_id = any (array(select unnest(app.billed_tenants()))))
    with check (tenant_id = any (array(select unnest(app.billed_tenants())))
                and operator_id = (select app.current_tenant()));
create policy invoices_delete on invoices for delete using (
    tenant_id = any (array(select unnest(app.billed_tenants()))) and status = 'draft'
);

-- A line is visible exactly when its invoice is (the subquery runs under the invoices policies).
alter table invoice_lines enable row level security;
alter table invoice_lines force row level security;
create policy invoice_lines_read on invoice_lines for select using (
    exists (select 1 from invoices i where i.tenant_id = invoice_lines.tenant_id and i.id = invoice_lines.invoice_id)
);
create policy invoice_lines_insert on invoice_lines for insert with check (
    tenant_id = any (array(select unnest(app.billed_tenants())))
);
create policy invoice_lines_delete on invoice_lines for delete using (
    tenant_id = any (array(select unnest(app.billed_tenants())))
);

-- Privileges of the API group ---------------------------------------------------------------------------

revoke all on pricing_plans, pricing_plan_versions, exchange_rates, cost_categories, billing_issuers,
    invoice_counters, invoice_runs, customer_billing, custom_line_items, invoices, invoice_lines from public;
revoke execute on function app.invoice_guard(), app.invoice_changed(), app.invoice_line_guard(),
    app.reject_truncate(), app.invoice_counter_guard(), app.check_billed_by_operator() from public;
grant execute on function app.invoice_guard(), app.invoice_changed(), app.invoice_line_guard(),
    app.reject_truncate(), app.invoice_counter_guard(), app.check_billed_by_operator() to roundpool_api;

grant select, insert (tenant_id, name), update (name) on pricing_plans to roundpool_api;
grant select, insert (tenant_id, plan_id, version, valid_from, definition, created_by)
    on pricing_plan_versions to roundpool_api;
grant select, insert, update (rate, updated_at), delete on exchange_rates to roundpool_api;
grant select, insert (tenant_id, name, definition), update (name, definition, updated_at), delete
    on cost_categories to roundpool_api;
grant select, insert, update (legal_name, address, tax_id, email, updated_at) on billing_issuers to roundpool_api;
grant select on invoice_counters to roundpool_api;
grant select, insert (tenant_id, period, created_by),
    update (status, total, closed, already_closed, no_data, failed, errors, job_id, started_at, finished_at)
    on invoice_runs to roundpool_api;
grant select, insert, update (plan_id, currency, tax_rate_percent, tax_name, legal_name, address, email, updated_at)
    on customer_billing to roundpool_api;
grant select, insert (tenant_id, operator_id, description, kind, amount_type, value, period, recurrence, until,
                      currency, created_by), delete
    on custom_line_items to roundpool_api;
grant select, insert (tenant_id, id, operator_id, kind, period, currency, subtotal, tax, total,
                      plan_version_id, idempotency_key, replaces_id, credit_note_for_id, bill_from, bill_to),
    update (status, void_reason), delete
    on invoices to roundpool_api;
grant select, insert, delete on invoice_lines to roundpool_api;
