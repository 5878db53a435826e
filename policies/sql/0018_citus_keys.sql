-- Citus keys: every primary key, unique index and foreign key between distributed tables includes tenant_id
-- (revision 0018). Frozen once released: later changes go in a new file.
--
-- Citus hash-distributes a table by one column and refuses a unique index that omits it (it could only be
-- checked on one shard). Every table outside db/distribution.py's reference and local lists is distributed by
-- tenant_id: its tenant_id is the tenant whose policies guard the row (the customer for accounts and invoices,
-- the operator for its own configuration, counters and imports). Four unique indexes spanned the customers of
-- an operator, keyed by operator_id instead:
--   cloud_accounts (operator_id, account_id)                        an AWS account id once per operator
--   cloud_account_assignments (operator_id, account_id) open rows   one open interval per such account
--   invoices (operator_id, number)                                  the operator's gapless invoice numbers
--   invoices (operator_id, idempotency_key)                         a close request's key, once per operator
-- They become rows of operator_keys, distributed by the operator (tenant_id = operator_id), primary key
-- (tenant_id, kind, key): the same rules, now a constraint on the operator's shard. Security-definer triggers
-- claim a key in the statement that hands it out (insert of an account, close of an invoice, insert of a draft
-- with a key), so a second claim fails with unique_violation (23505) as the old indexes did. The open-interval
-- rule of the history holds by construction: only the trigger writes the history, under the claimed key's row
-- lock; its index is now per (tenant_id, account_id).
-- customer_billing's foreign key (operator_id, plan_id) to pricing_plans stays: pricing_plans is a reference
-- table (an operator's few plans, replicated to every node), and a distributed table may reference one on any
-- columns.

create table operator_keys (
    tenant_id uuid not null references tenants (id),              -- the operator whose rule the key keeps
    kind text not null check (kind in ('cloud_account', 'invoice_number', 'idempotency_key')),
    key text not null check (length(key) between 1 and 300),
    customer_tenant_id uuid not null references tenants (id),     -- who holds it now
    subject_id uuid,                                              -- the invoice, for invoice keys
    claimed_at timestamptz not null default clock_timestamp(),
    primary key (tenant_id, kind, key)
);

insert into operator_keys (tenant_id, kind, key, customer_tenant_id)
select operator_id, 'cloud_account', account_id, tenant_id from cloud_accounts;
insert into operator_keys (tenant_id, kind, key, customer_tenant_id, subject_id)
select operator_id, 'invoice_number', number::text, tenant_id, id from invoices where number is not null;
insert into operator_keys (tenant_id, kind, key, customer_tenant_id, subject_id)
select operator_id, 'idempotency_key', idempotency_key, tenant_id, id from invoices where idempotency_key is not null;

drop index cloud_accounts_account_idx;
create index cloud_accounts_operator_account_idx on cloud_accounts (operator_id, account_id);
drop index cloud_account_assignments_open_idx;
create unique index cloud_account_assignments_open_idx on cloud_account_assignments (tenant_id, account_id)
    where valid_to is null;
drop index invoices_number_idx;
create index invoices_operator_number_idx on invoices (operator_id, number);
drop index invoices_idempotency_idx;
create index invoices_idempotency_idx on invoices (operator_id, idempotency_key) where idempotency_key is not null;

-- Claims ------------------------------------------------------------------------------------------------

create function app.claim_operator_key(operator uuid, key_kind text, key_value text, customer uuid, subject uuid)
    returns void
    language plpgsql volatile security definer set search_path = ''
as $$
begin
    insert into public.operator_keys (tenant_id, kind, key, customer_tenant_id, subject_id)
    values (operator, key_kind, key_value, customer, subject);
exception when unique_violation then
    raise exception '% % is already taken within operator %', replace(key_kind, '_', ' '), key_value, operator
        using errcode = 'unique_violation';
end
$$;

-- An account id is claimed when first assigned, follows the account when it moves, and is released with it.
create function app.cloud_account_key() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        perform app.claim_operator_key(new.operator_id, 'cloud_account', new.account_id, new.tenant_id, null);
    elsif tg_op = 'UPDATE' then
        update public.operator_keys set customer_tenant_id = new.tenant_id
        where tenant_id = new.operator_id and kind = 'cloud_account' and key = new.account_id;
    else
        delete from public.operator_keys
        where tenant_id = old.operator_id and kind = 'cloud_account' and key = old.account_id;
    end if;
    return null;
end
$$;

create trigger cloud_accounts_key after insert or update of tenant_id or delete on cloud_accounts
    for each row execute function app.cloud_account_key();

-- A draft claims its idempotency key (released if the draft is deleted); a close claims the number the
-- guard (app.invoice_guard) took from the counter.
create function app.invoice_keys() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if tg_op = 'INSERT' then
        perform app.claim_operator_key(new.operator_id, 'idempotency_key', new.idempotency_key, new.tenant_id, new.id);
    elsif tg_op = 'UPDATE' then
        perform app.claim_operator_key(new.operator_id, 'invoice_number', new.number::text, new.tenant_id, new.id);
    else
        delete from public.operator_keys
        where tenant_id = old.operator_id and kind = 'idempotency_key' and key = old.idempotency_key
          and subject_id = old.id;
    end if;
    return null;
end
$$;

create trigger invoices_idempotency_key after insert on invoices
    for each row when (new.idempotency_key is not null) execute function app.invoice_keys();
create trigger invoices_number_key after update of status on invoices
    for each row when (old.number is null and new.number is not null) execute function app.invoice_keys();
create trigger invoices_release_key after delete on invoices
    for each row when (old.idempotency_key is not null) execute function app.invoice_keys();

-- Row-level security ------------------------------------------------------------------------------------

alter table operator_keys enable row level security;
alter table operator_keys force row level security;
create policy operator_keys_read on operator_keys for select using (
    tenant_id = (select app.current_tenant()) and (select app.current_member_role()) = 'billing_admin'
);

-- Privileges of the API group ---------------------------------------------------------------------------

revoke all on operator_keys from public;
revoke execute on function app.claim_operator_key(uuid, text, text, uuid, uuid), app.cloud_account_key(),
    app.invoice_keys() from public;
-- The triggers run with the caller's privilege to execute them; claim_operator_key is theirs alone.
grant execute on function app.cloud_account_key(), app.invoice_keys() to roundpool_api;
grant select on operator_keys to roundpool_api;
