-- Invoices a customer accepts: tax treatment, qualified-invoice details, payment terms (revision 0012). Frozen once released: later changes go in a new file.
--
-- Operator side:
--   billing_issuers   + registration number (Japan: T + 13 digits with the corporate-number check digit),
--                       jurisdiction, payment terms, payment (bank) details, how the provider's own tax lines
--                       are billed, the tax rounding rule, the reverse-charge wording
--   tax_rates         rates by category with the period they take effect from (operator configuration)
--   exchange_rates    + the rate's date and source, printed on invoices in another currency than the costs
-- Customer side:
--   customer_billing  + the customer's tax id, its tax category, provider-tax and payment-terms overrides,
--                       reverse charge (cross-border B2B)
--   custom_line_items + a tax category (a reduced-rate item, an exempt one)
--   invoices          + payment terms, the due date (set by the database at close: closed_at + terms) and
--                       `details`: the tax breakdown, exchange rates, payment details and qualified-invoice
--                       facts as they were at close. Captured on the draft, so the closed invoice never
--                       changes (the 0005 guard refuses any change but the void stamp).
--   invoice_lines     + usage type, tax category and rate of the line

-- The Japanese corporate-number check digit (法人番号, 国税庁): the first of the 13 digits is
-- 9 - (sum over the other 12, from the right, of digit × (1 when odd position, 2 when even)) mod 9.
create function app.valid_registration_number(value text) returns boolean
    language plpgsql immutable set search_path = ''
as $$
declare
    total integer := 0;
    digit integer;
begin
    if value is null or value = '' then
        return true;
    end if;
    if value !~ '^T[0-9]{13}$' then
        return false;
    end if;
    for i in 1..12 loop
        digit := substr(value, 15 - i, 1)::integer;
        total := total + digit * (case when i % 2 = 1 then 1 else 2 end);
    end loop;
    return substr(value, 2, 1)::integer = 9 - total % 9;
end
$$;
revoke execute on function app.valid_registration_number(text) from public;
grant execute on function app.valid_registration_number(text) to roundpool_api;

alter table billing_issuers
    add column registration_number text not null default ''
        check (app.valid_registration_number(registration_number)),
    add column jurisdiction text not null default '' check (jurisdiction = '' or jurisdiction ~ '^[A-Z]{2}$'),
    add column payment_terms_days integer not null default 30 check (payment_terms_days between 0 and 365),
    add column payment_details text not null default '' check (length(payment_details) <= 2000),
    add column provider_tax text not null default 'REPLACE'
        check (provider_tax in ('REPLACE', 'PASS_THROUGH', 'BILL_AS_COST')),
    add column tax_rounding text not null default 'PER_RATE' check (tax_rounding in ('PER_RATE', 'PER_LINE')),
    add column reverse_charge_note text not null default '' check (length(reverse_charge_note) <= 500),
    -- Japan rounds consumption tax once per invoice and rate (the qualified-invoice rule).
    add constraint billing_issuers_jp_rounding check (jurisdiction <> 'JP' or tax_rounding = 'PER_RATE');
grant update (registration_number, jurisdiction, payment_terms_days, payment_details, provider_tax, tax_rounding,
              reverse_charge_note) on billing_issuers to roundpool_api;

create table tax_rates (
    tenant_id uuid not null references tenants (id),
    category text not null check (category ~ '^[a-z][a-z0-9_-]{0,39}$'),
    valid_from text not null check (valid_from ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    rate_percent numeric not null check (rate_percent >= 0 and rate_percent <= 100),
    name text not null check (length(name) between 1 and 100),
    reduced boolean not null default false,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, category, valid_from)
);
alter table tax_rates enable row level security;
alter table tax_rates force row level security;
create policy tax_rates_admin on tax_rates for all
    using (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin')
    with check (tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin');
revoke all on tax_rates from public;
grant select, insert, update (rate_percent, name, reduced, updated_at), delete on tax_rates to roundpool_api;

alter table exchange_rates
    add column rate_date date,
    add column source text not null default '' check (length(source) <= 200);
grant update (rate_date, source) on exchange_rates to roundpool_api;

alter table customer_billing
    add column tax_id text not null default '' check (length(tax_id) <= 100),
    add column tax_category text not null default 'standard' check (tax_category ~ '^[a-z][a-z0-9_-]{0,39}$'),
    add column provider_tax text check (provider_tax in ('REPLACE', 'PASS_THROUGH', 'BILL_AS_COST')),
    add column reverse_charge boolean not null default false,
    add column payment_terms_days integer check (payment_terms_days between 0 and 365);
grant update (tax_id, tax_category, provider_tax, reverse_charge, payment_terms_days)
    on customer_billing to roundpool_api;

alter table custom_line_items
    add column tax_category text check (tax_category ~ '^[a-z][a-z0-9_-]{0,39}$');
grant insert (tax_category) on custom_line_items to roundpool_api;

alter table invoices
    add column payment_terms_days integer check (payment_terms_days between 0 and 365),
    add column due_date date,
    add column details jsonb not null default '{}' check (jsonb_typeof(details) = 'object');
grant insert (payment_terms_days, details) on invoices to roundpool_api;

alter table invoice_lines
    add column usage_type text,
    add column tax_category text,
    add column tax_rate_percent numeric check (tax_rate_percent >= 0 and tax_rate_percent <= 100);

-- The due date follows from the close, not from the client: closed_at (set by invoices_guard, which fires
-- first: triggers of one event fire in name order) plus the invoice's terms, as a UTC date.
create function app.invoice_due_date() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        new.due_date := null;
    elsif old.status = 'draft' and new.status = 'closed' then
        new.due_date := case when new.payment_terms_days is null then null
                             else (new.closed_at at time zone 'UTC')::date + new.payment_terms_days end;
    elsif old.status = 'draft' then
        new.due_date := null;
    end if;
    return new;
end
$$;
revoke execute on function app.invoice_due_date() from public;
grant execute on function app.invoice_due_date() to roundpool_api;

create trigger invoices_terms before insert or update on invoices
    for each row execute function app.invoice_due_date();
