-- Onboarding: just-in-time users, tenants created by their first owner or by an operator (revision 0014). Frozen once released: later changes go in a new file.
--
-- Users are identified by the identity provider's token: (issuer, subject) = (`iss` or '', `sub`). The first
-- request of an unknown identity creates its user through app.provision_user, with the token's e-mail address
-- only when the server trusts it (the token says `email_verified`); an address that already belongs to another
-- identity is refused, never merged. Rows inserted by the owner (seed data, tests) get subject = id, which is
-- what development tokens (`roundpool token`) carry as `sub`.
--
-- Tenants are created only by security-definer functions, each in one statement with its first owner:
--   app.create_tenant      a startup or a VC, owned by the caller
--   app.create_customer    a startup billed by the acting operator (its billing admins only), whose first owner is
--                          invited in the same statement
--   app.create_operator    an operator; executable by the owner role only (`roundpool tenants create-operator`)
-- The app role still cannot insert tenants, users or memberships. Every creation is audited.


-- Identity ------------------------------------------------------------------------------------------------

alter table users
    add column issuer text not null default '' check (length(issuer) <= 500),
    add column subject text check (length(subject) between 1 and 255);
update users set subject = id::text;
alter table users alter column subject set not null;
create unique index users_identity on users (issuer, subject);

create function app.default_user_subject() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    new.subject := coalesce(new.subject, new.id::text);
    return new;
end
$$;

create trigger users_default_subject before insert on users
    for each row execute function app.default_user_subject();

-- The user of a verified token: one look-up when they exist; otherwise created with the address the server
-- trusts (`trusted_email`, null when the token's address is unverified). Raises 28000 when no user can be
-- created: no trusted address, or the address is another identity's.
create function app.provision_user(token_issuer text, token_subject text, trusted_email text, token_name text)
    returns uuid
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    found_id uuid;
    address text := lower(btrim(trusted_email));
begin
    select u.id into found_id from public.users u where u.issuer = token_issuer and u.subject = token_subject;
    if found then
        return found_id;
    end if;
    if address is null or address = '' then
        raise exception 'the token carries no verified e-mail address; verify it with your identity provider'
            using errcode = 'invalid_authorization_specification';
    end if;
    insert into public.users (issuer, subject, email, display_name)
    values (token_issuer, token_subject, address, left(coalesce(btrim(token_name), ''), 200))
    on conflict do nothing
    returning id into found_id;
    if found_id is not null then
        return found_id;
    end if;
    -- Either a concurrent first request of the same identity won, or the address is someone else's.
    select u.id into found_id from public.users u where u.issuer = token_issuer and u.subject = token_subject;
    if found_id is null then
        raise exception 'the e-mail address of this token belongs to another account'
            using errcode = 'invalid_authorization_specification';
    end if;
    return found_id;
end
$$;

-- Tenant creation -----------------------------------------------------------------------------------------

create function app.check_new_slug(tenant_slug text) returns void
    language plpgsql immutable set search_path = ''
as $$
begin
    if tenant_slug is null or tenant_slug !~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$' then
        raise exception 'a slug has 3 to 40 lowercase letters, digits and inner hyphens'
            using errcode = 'check_violation', column = 'slug';
    end if;
end
$$;

create function app.record_tenant_created(created public.tenants, owner_user uuid, invited text) returns void
    language sql volatile security definer set search_path = ''
as $$
    insert into public.audit_events (tenant_id, actor_user_id, actor_tenant_id, action, subject_type, subject_id,
                                     details)
    select t.tenant_id, app.current_user_id(), app.current_tenant(), t.action, 'tenant', created.id::text,
           jsonb_strip_nulls(jsonb_build_object('slug', created.slug, 'name', created.name, 'kind', created.kind,
                                                'operator_id', created.operator_id, 'owner_user_id', owner_user,
                                                'invited_email', invited))
    from (values (created.id, 'tenant.created'), (created.operator_id, 'customer.created')) t (tenant_id, action)
    where t.tenant_id is not null
$$;

create function app.create_tenant(tenant_slug text, tenant_name text, tenant_kind text)
    returns setof public.tenants
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    me uuid := app.current_user_id();
    created public.tenants;
begin
    if tenant_kind is distinct from 'startup' and tenant_kind is distinct from 'vc' then
        raise exception 'only startups and VCs sign up; operators are created by the platform'
            using errcode = 'insufficient_privilege';
    end if;
    if me is null or not exists (select 1 from public.users u where u.id = me) then
        raise exception 'sign in to create a tenant' using errcode = 'insufficient_privilege';
    end if;
    perform app.check_new_slug(tenant_slug);
    insert into public.tenants (slug, name, kind) values (tenant_slug, btrim(tenant_name), tenant_kind)
    returning * into created;
    insert into public.memberships (tenant_id, user_id, role) values (created.id, me, 'owner');
    perform app.record_tenant_created(created, me, null);
    return next created;
end
$$;

-- The acting operator's billing admin creates a billed startup and invites its first owner; the operator is
-- always the acting one (there is no argument to name another).
create function app.create_customer(tenant_slug text, tenant_name text, owner_email text)
    returns setof public.invitations
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    operator uuid := app.current_tenant();
    created public.tenants;
begin
    if operator is null or app.current_tenant_kind() <> 'operator'
       or app.current_member_role() is distinct from 'billing_admin' then
        raise exception 'only billing admins of an operator create customers' using errcode = 'insufficient_privilege';
    end if;
    perform app.check_new_slug(tenant_slug);
    insert into public.tenants (slug, name, kind, operator_id)
    values (tenant_slug, btrim(tenant_name), 'startup', operator)
    returning * into created;
    perform app.record_tenant_created(created, null, lower(btrim(owner_email)));
    return query
        insert into public.invitations (tenant_id, email, role) values (created.id, owner_email, 'owner')
        returning *;
end
$$;

-- Operators: the owner role only (the CLI). The owner joins at once if the address has a user, else is invited.
create function app.create_operator(tenant_slug text, tenant_name text, owner_email text)
    returns table (tenant_id uuid, owner_is_member boolean)
    language plpgsql volatile set search_path = ''
as $$
declare
    created public.tenants;
    owner_user uuid;
begin
    perform app.check_new_slug(tenant_slug);
    insert into public.tenants (slug, name, kind) values (tenant_slug, btrim(tenant_name), 'operator')
    returning * into created;
    select u.id into owner_user from public.users u where u.email = lower(btrim(owner_email));
    perform app.record_tenant_created(created, owner_user, case when owner_user is null then lower(btrim(owner_email)) end);
    if owner_user is null then
        insert into public.invitations (tenant_id, email, role) values (created.id, owner_email, 'owner');
    else
        insert into public.memberships (tenant_id, user_id, role) values (created.id, owner_user, 'owner');
    end if;
    return query select created.id, owner_user is not null;
end
$$;

-- First owners: invitations that no member of the tenant files ---------------------------------------------

-- The session logged in as the role that owns the tables (the CLI acting as the owner), not the app role:
-- session_user cannot be changed without superuser rights, unlike every app.* setting.
create function app.is_owner_session() returns boolean
    language sql stable set search_path = ''
as $$
    select exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_roles r on r.oid = c.relowner
                   where c.oid = 'public.tenants'::regclass and r.rolname = session_user)
$$;

-- An owner invitation into a tenant without members: by the operator's billing admin for a customer it bills,
-- or by the owner role for a new operator.
create function app.may_invite_first_owner(invitation_tenant uuid, invitation_role text) returns boolean
    language sql stable security definer set search_path = ''
as $$
    select coalesce(invitation_role = 'owner'
                    and not exists (select 1 from public.memberships m where m.tenant_id = invitation_tenant)
                    and (invitation_tenant = any (app.billed_tenants()) or app.is_owner_session()), false)
$$;

-- 0010's trigger, with the first-owner case admitted beside the tenant's own admins.
create or replace function app.invitation_changed() returns trigger
    language plpgsql security definer set search_path = ''
as $$
declare
    action text;
    actor uuid;
begin
    if tg_op = 'INSERT' then
        -- Refuse first, before any check that looks at the target tenant: a stranger learns nothing of it.
        if not (app.may_manage_invitation(new.tenant_id, new.role)
                or app.may_invite_first_owner(new.tenant_id, new.role)) then
            raise exception 'new row violates row-level security policy for table "invitations"'
                using errcode = 'insufficient_privilege';
        end if;
        new.email := lower(btrim(new.email));
        new.invited_by := app.current_user_id();
        new.status := 'pending';
        new.created_at := now();
        new.accepted_by := null;
        new.responded_at := null;
        if new.role = 'billing_admin' and (select kind from public.tenants where id = new.tenant_id) <> 'operator' then
            raise exception 'billing_admin is a role of operator tenants only' using errcode = 'check_violation';
        end if;
        if exists (select 1 from public.memberships m join public.users u on u.id = m.user_id
                   where m.tenant_id = new.tenant_id and u.email = new.email) then
            raise exception '% is already a member', new.email using errcode = 'unique_violation';
        end if;
        -- A lapsed invitation no longer blocks a new one for the same address.
        update public.invitations set status = 'expired', responded_at = now()
        where tenant_id = new.tenant_id and email = new.email and status = 'pending'
          and expires_at <= statement_timestamp();
        action := 'invitation.created';
    else
        if old.tenant_id <> new.tenant_id or old.id <> new.id or old.email <> new.email or old.role <> new.role
           or old.invited_by is distinct from new.invited_by or old.created_at <> new.created_at then
            raise exception 'an invitation''s tenant, address and role are fixed' using errcode = 'check_violation';
        end if;
        if old.status <> 'pending' and (new.status <> old.status or new.expires_at <> old.expires_at) then
            raise exception 'invitation % is %', old.id, old.status using errcode = 'check_violation';
        end if;
        action := case when new.status = old.status then 'invitation.updated' else 'invitation.' || new.status end;
    end if;
    -- The actor is named only if they belong to the tenant (a decliner stays anonymous to its admins).
    actor := app.current_user_id();
    if not exists (select 1 from public.memberships m where m.tenant_id = new.tenant_id and m.user_id = actor) then
        actor := null;
    end if;
    insert into public.audit_events (tenant_id, actor_user_id, actor_tenant_id, action, subject_type,
                                     subject_id, details)
    values (new.tenant_id, actor, case when app.current_tenant() = new.tenant_id then new.tenant_id end, action,
            'invitation', new.id::text,
            jsonb_build_object('email', new.email, 'role', new.role, 'status', new.status,
                               'expires_at', new.expires_at));
    return new;
end
$$;

-- Privileges ----------------------------------------------------------------------------------------------

revoke execute on function app.default_user_subject(), app.provision_user(text, text, text, text),
    app.check_new_slug(text), app.record_tenant_created(public.tenants, uuid, text),
    app.create_tenant(text, text, text), app.create_customer(text, text, text),
    app.create_operator(text, text, text), app.is_owner_session(), app.may_invite_first_owner(uuid, text)
    from public;
grant execute on function app.default_user_subject(), app.provision_user(text, text, text, text),
    app.check_new_slug(text), app.create_tenant(text, text, text), app.create_customer(text, text, text),
    app.is_owner_session(), app.may_invite_first_owner(uuid, text)
    to roundpool_api;
