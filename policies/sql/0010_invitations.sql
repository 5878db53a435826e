-- Membership by consent: invitations the invitee accepts (revision 0010). Frozen once released: later changes go in a new file.
--
-- An owner or admin invites an e-mail address into the acting tenant; the user whose e-mail it is (and nobody
-- else) sees the invitation and accepts or declines it. Accepting is the only way a membership is created
-- through the API: the app role no longer inserts memberships, nor users, and can no longer look a user up by
-- e-mail. Nothing an admin does tells whether an address belongs to a user outside the admin's tenants.
--
-- Lifecycle: pending → accepted | declined | revoked | expired (all final). A pending invitation past
-- expires_at counts as expired everywhere (it cannot be accepted) and is marked so when the address is
-- invited again. Every change is audited in the inviting tenant's trail by the trigger.


create table invitations (
    tenant_id uuid not null references tenants (id),
    id uuid not null default gen_random_uuid(),
    email text not null check (email = lower(btrim(email)) and length(email) <= 320 and email like '%_@_%'),
    role text not null check (role in ('owner', 'admin', 'member', 'viewer', 'billing_admin')),
    invited_by uuid references users (id),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null default now() + interval '14 days',
    status text not null default 'pending'
        check (status in ('pending', 'accepted', 'declined', 'revoked', 'expired')),
    accepted_by uuid references users (id),
    responded_at timestamptz,
    primary key (tenant_id, id),
    check ((status = 'accepted') = (accepted_by is not null)),
    check ((status = 'pending') = (responded_at is null))
);
create unique index invitations_one_pending on invitations (tenant_id, email) where status = 'pending';
create index invitations_email_idx on invitations (email, status);

-- Helpers -----------------------------------------------------------------------------------------------

-- The caller's own e-mail address (users are visible only to themselves and co-members).
create function app.current_user_email() returns text
    language sql stable security definer set search_path = ''
as $$ select u.email from public.users u where u.id = app.current_user_id() $$;

-- Tenants that invite the caller (pending, unexpired): the invitee may see who invites them.
create function app.invited_tenants() returns uuid[]
    language sql stable security definer set search_path = ''
as $$
    select coalesce(array_agg(i.tenant_id), '{}') from public.invitations i
    where i.email = app.current_user_email() and i.status = 'pending' and i.expires_at > statement_timestamp()
$$;

-- The acting tenant's admins may manage this invitation (only owners touch invitations to ownership).
create function app.may_manage_invitation(invitation_tenant uuid, invitation_role text) returns boolean
    language sql stable set search_path = ''
as $$
    select coalesce(invitation_tenant = app.current_tenant() and app.is_admin()
                    and (invitation_role <> 'owner' or app.current_member_role() = 'owner'), false)
$$;

-- Trigger: creation rules, transitions, audit ----------------------------------------------------------

create function app.invitation_changed() returns trigger
    language plpgsql security definer set search_path = ''
as $$
declare
    action text;
    actor uuid;
begin
    if tg_op = 'INSERT' then
        -- Refuse first, before any check that looks at the target tenant: a stranger learns nothing of it.
        if not app.may_manage_invitation(new.tenant_id, new.role) then
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

create trigger invitations_changed before insert or update on invitations
    for each row execute function app.invitation_changed();

-- The invitee's answer and the admin's revocation -------------------------------------------------------
-- Each returns the changed invitation, or no row when there is none the caller may act on (absent or not
-- theirs: indistinguishable). A final or lapsed invitation raises check_violation.

create function app.accept_invitation(invitation_id uuid) returns setof public.invitations
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    found_row public.invitations;
    me uuid := app.current_user_id();
begin
    select * into found_row from public.invitations i
    where i.id = invitation_id and i.email = app.current_user_email()
    for update;
    if not found then
        return;
    end if;
    if found_row.status <> 'pending' then
        raise exception 'this invitation is %', found_row.status using errcode = 'check_violation';
    end if;
    if found_row.expires_at <= statement_timestamp() then
        raise exception 'this invitation has expired' using errcode = 'check_violation';
    end if;
    if exists (select 1 from public.memberships m where m.tenant_id = found_row.tenant_id and m.user_id = me) then
        raise exception 'you are already a member of this tenant' using errcode = 'unique_violation';
    end if;
    insert into public.memberships (tenant_id, user_id, role) values (found_row.tenant_id, me, found_row.role);
    return query
        update public.invitations i set status = 'accepted', accepted_by = me, responded_at = now()
        where i.tenant_id = found_row.tenant_id and i.id = found_row.id
        returning i.*;
end
$$;

create function app.decline_invitation(invitation_id uuid) returns setof public.invitations
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    found_row public.invitations;
begin
    select * into found_row from public.invitations i
    where i.id = invitation_id and i.email = app.current_user_email()
    for update;
    if not found then
        return;
    end if;
    if found_row.status <> 'pending' then
        raise exception 'this invitation is %', found_row.status using errcode = 'check_violation';
    end if;
    if found_row.expires_at <= statement_timestamp() then
        raise exception 'this invitation has expired' using errcode = 'check_violation';
    end if;
    return query
        update public.invitations i set status = 'declined', responded_at = now()
        where i.tenant_id = found_row.tenant_id and i.id = found_row.id
        returning i.*;
end
$$;

create function app.revoke_invitation(invitation_id uuid) returns setof public.invitations
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    found_row public.invitations;
begin
    select * into found_row from public.invitations i
    where i.id = invitation_id and i.tenant_id = app.current_tenant()
      and app.may_manage_invitation(i.tenant_id, i.role)
    for update;
    if not found then
        return;
    end if;
    if found_row.status <> 'pending' then
        raise exception 'this invitation is %', found_row.status using errcode = 'check_violation';
    end if;
    return query
        update public.invitations i set status = 'revoked', responded_at = now()
        where i.tenant_id = found_row.tenant_id and i.id = found_row.id
        returning i.*;
end
$$;

-- Row-level security ------------------------------------------------------------------------------------

alter table invitations enable row level security;
alter table invitations force row level security;
create policy invitations_read on invitations for select using (
    (tenant_id = (select app.current_tenant()) and (select app.is_admin()))
    or email = (select app.current_user_email())
);
create policy invitations_create on invitations for insert with check (
    tenant_id = (select app.current_tenant()) and (select app.is_admin())
    and (role <> 'owner' or (select app.current_member_role()) = 'owner')
);

create policy tenants_read_invited on tenants for select using (
    id = any (array(select unnest(app.invited_tenants())))
);

-- Consent replaces enrolment: no direct membership inserts, no user creation, no look-up by e-mail. -------

drop policy memberships_insert on memberships;
revoke insert on memberships from roundpool_api;
drop policy users_create on users;
revoke insert on users from roundpool_api;
drop function app.user_id_by_email(text);

-- Privileges of the API group ---------------------------------------------------------------------------

grant select, insert (tenant_id, email, role) on invitations to roundpool_api;
revoke execute on function app.current_user_email(), app.invited_tenants(), app.may_manage_invitation(uuid, text),
    app.invitation_changed(), app.accept_invitation(uuid), app.decline_invitation(uuid),
    app.revoke_invitation(uuid) from public;
grant execute on function app.current_user_email(), app.invited_tenants(), app.may_manage_invitation(uuid, text),
    app.invitation_changed(), app.accept_invitation(uuid), app.decline_invitation(uuid),
    app.revoke_invitation(uuid) to roundpool_api;
