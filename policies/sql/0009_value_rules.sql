-- Value rules enforced by the database: positive quantities, bounded precision and magnitude (revision 0009). Frozen once released: later changes go in a new file.
--
-- The API refuses the same values first (the Decimal scalar, captable.values, the billing and fund resolvers);
-- these checks hold for any statement the app role can send. Bounds are those of numeric(38, 18): at most 20
-- digits before the decimal point, 18 after, finite. PostgreSQL's numeric also takes NaN and ±Infinity, and
-- NaN compares greater than every number, so `amount > 0` alone admits it.

create function app.numeric_fits(x numeric) returns boolean
    language sql immutable parallel safe set search_path = ''
as $$
    select x is null or (
        x <> 'NaN'::numeric and x <> 'Infinity'::numeric and x <> '-Infinity'::numeric
        and abs(x) < 1e20 and pg_catalog.scale(pg_catalog.trim_scale(x)) <= 18
    )
$$;

-- A JSON value that must be a bounded number (OCF writes numbers as strings); null/absent is allowed.
create function app.json_number_fits(value jsonb, minimum numeric, inclusive boolean) returns boolean
    language plpgsql immutable parallel safe set search_path = ''
as $$
declare
    number numeric;
begin
    if value is null or jsonb_typeof(value) = 'null' then
        return true;
    end if;
    if jsonb_typeof(value) not in ('string', 'number') then
        return false;
    end if;
    begin
        number := (value #>> '{}')::numeric;
    exception when others then
        return false;
    end;
    return app.numeric_fits(number) and (number > minimum or (inclusive and number = minimum));
end
$$;

-- Funds ----------------------------------------------------------------------------------------------------
alter table fund_commitments add constraint fund_commitments_amount_fits check (app.numeric_fits(amount));
alter table capital_calls add constraint capital_calls_amount_fits check (app.numeric_fits(amount));
alter table distributions add constraint distributions_amount_fits check (app.numeric_fits(amount));
alter table fund_investments add constraint fund_investments_allocation_fits check (app.numeric_fits(allocation));

-- Billing --------------------------------------------------------------------------------------------------
alter table exchange_rates add constraint exchange_rates_rate_fits check (app.numeric_fits(rate));
alter table customer_billing add constraint customer_billing_tax_fits check (app.numeric_fits(tax_rate_percent));
alter table custom_line_items add constraint custom_line_items_value_fits check (
    app.numeric_fits(value) and (amount_type <> 'PERCENT' or value <= 1000)
);

-- Every rule of a plan version: a percent from 0 to 1000, and a discount of at most 100.
create function app.plan_rules_fit(definition jsonb) returns boolean
    language sql immutable parallel safe set search_path = ''
as $$
    select coalesce(bool_and(
        app.json_number_fits(rule -> 'percent', 0, true)
        and (rule ->> 'percent')::numeric <= case when rule ->> 'adjustment' = 'DISCOUNT' then 100 else 1000 end
    ), true)
    from jsonb_array_elements(case when jsonb_typeof(definition -> 'rules') = 'array'
                                   then definition -> 'rules' else '[]'::jsonb end) as rule
$$;

alter table pricing_plan_versions add constraint pricing_plan_versions_rules_fit check (app.plan_rules_fit(definition));

-- Cap table ledger (OCF-shaped jsonb) ---------------------------------------------------------------------
create function app.check_captable_values() returns trigger
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
        when t in ('STOCK_CLASS', 'ISSUER') and not app.json_number_fits(p -> 'initial_shares_authorized', 0, true)
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

create trigger captable_objects_values_fit before insert on captable_objects
    for each row execute function app.check_captable_values();
