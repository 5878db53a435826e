-- One cost store per operator: account ids unique per operator, operator-keyed imports and locks (revision 0008). Frozen once released: later changes go in a new file.
--
-- cloud_accounts.operator_id                the operator of the tenant the account is assigned to (the store
--                                           its cost rows live in); set by the trigger, never by a client
-- cloud_account_assignments.operator_id     likewise, per interval of the history
-- cloud_account_assignments.is_first        the account's first assignment within its operator: it also
--                                           covers cost rows charged before it (data imported for months
--                                           before the account was assigned belongs to its first tenant),
--                                           known without seeing the other tenants' intervals
--
-- Account ids were unique across operators: a second operator could neither assign an id the first one
-- used nor tell them apart in the (shared) store. They are unique per operator now. cost_imports and
-- cost_period_locks are keyed by the operator already (tenant_id); the store is split by cost.migration.

alter table cloud_accounts add column operator_id uuid references tenants (id);
alter table cloud_account_assignments add column operator_id uuid references tenants (id),
    add column is_first boolean not null default false;

update cloud_accounts a set operator_id = t.operator_id from tenants t where t.id = a.tenant_id;
update cloud_account_assignments a set operator_id = t.operator_id from tenants t where t.id = a.tenant_id;
update cloud_account_assignments a set is_first = not exists (
    select 1 from cloud_account_assignments b
    where b.operator_id = a.operator_id and b.account_id = a.account_id and b.valid_from < a.valid_from
);

alter table cloud_accounts alter column operator_id set not null;
alter table cloud_account_assignments alter column operator_id set not null;

drop index cloud_accounts_account_idx;
create unique index cloud_accounts_account_idx on cloud_accounts (operator_id, account_id);
drop index cloud_account_assignments_open_idx;
create unique index cloud_account_assignments_open_idx on cloud_account_assignments (operator_id, account_id)
    where valid_to is null;
create index cloud_account_assignments_account_idx on cloud_account_assignments (operator_id, account_id, valid_from);

-- The history trigger, now per operator: an account never changes operator (a move stays between tenants
-- the same operator bills; the policies require it too), and the open interval closed is that operator's.
create or replace function app.cloud_account_assigned() returns trigger
    language plpgsql security definer set search_path = ''
as $$
declare
    billed_by uuid;
begin
    if tg_op = 'UPDATE' then
        if new.account_id <> old.account_id then
            raise exception 'a cloud account''s id is fixed' using errcode = 'check_violation';
        end if;
        new.operator_id := old.operator_id;
        if new.tenant_id = old.tenant_id then
            return new;
        end if;
    end if;
    if (select kind from public.tenants where id = new.tenant_id) = 'operator' then
        raise exception 'cloud accounts are assigned to customer tenants' using errcode = 'check_violation';
    end if;
    billed_by := (select t.operator_id from public.tenants t where t.id = new.tenant_id);
    if billed_by is null then
        raise exception 'tenant % has no operator to bill its cloud accounts', new.tenant_id
            using errcode = 'check_violation';
    end if;
    if tg_op = 'UPDATE' then
        if billed_by <> old.operator_id then
            raise exception 'a cloud account stays with its operator' using errcode = 'insufficient_privilege';
        end if;
        update public.cloud_account_assignments set valid_to = clock_timestamp()
        where operator_id = old.operator_id and account_id = old.account_id and valid_to is null;
    end if;
    new.operator_id := billed_by;
    new.assigned_at := clock_timestamp();
    new.assigned_by := app.current_user_id();
    insert into public.cloud_account_assignments (tenant_id, account_id, operator_id, valid_from, assigned_by, is_first)
    values (new.tenant_id, new.account_id, new.operator_id, new.assigned_at, new.assigned_by,
            not exists (select 1 from public.cloud_account_assignments h
                        where h.operator_id = new.operator_id and h.account_id = new.account_id));
    return new;
end
$$;
revoke execute on function app.cloud_account_assigned() from public;
grant execute on function app.cloud_account_assigned() to roundpool_api;
