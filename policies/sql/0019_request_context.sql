-- One round trip opens a request, and rate limits lease tokens (revision 0019). Frozen once released: later
-- changes go in a new file.
--
-- app.open_request does in one statement what a request's first seven did (bind nobody, provision the token's
-- user, bind the user, read the user and the membership, bind the tenant): it provisions the user of (issuer,
-- subject) with the rules of app.provision_user (0014), resolves the membership of `tenant_slug` (null: the
-- user's only tenant, if they have exactly one), binds app.user_id, app.tenant_id and statement_timeout
-- transaction-locally, and returns the principal with the user's and the acting tenant's rows (what the policies
-- show the user anyway). The server sends it together with BEGIN (db/session.py): a request's context costs one
-- round trip.
--
-- Trust: the app role could already bind any user id with set_config and provision any (issuer, subject) with
-- app.provision_user; the server verifies the token before it names the subject. The function adds no power to
-- that: it binds a tenant only when the user is a member of it (and every policy checks the membership again
-- through app.current_tenant()), and it binds nothing when it refuses (the statement fails before any
-- set_config). Refusals have their own SQLSTATE:
--   28000  no user can be provisioned for the token (app.provision_user's refusal)
--   RP403  the user is not a member of `tenant_slug`
-- It is owned by the owner role (security definer, search_path pinned): the app role can neither change it nor
-- reach the tables it reads.

create function app.open_request(token_issuer text, token_subject text, trusted_email text, token_name text,
                                 tenant_slug text, statement_timeout_ms integer)
    returns table (user_id uuid, email text, display_name text, user_created_at timestamptz,
                   tenant_id uuid, slug text, name text, kind text, operator_id uuid, tenant_created_at timestamptz,
                   role text)
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    me uuid;
    acting uuid;
    acting_role text;
begin
    if statement_timeout_ms is null or statement_timeout_ms < 1 then
        raise exception 'statement_timeout_ms must be a positive number of milliseconds' using errcode = '22023';
    end if;
    me := app.provision_user(token_issuer, token_subject, trusted_email, token_name);
    if tenant_slug is not null then
        select m.tenant_id, m.role into acting, acting_role
        from public.memberships m join public.tenants t on t.id = m.tenant_id
        where m.user_id = me and t.slug = tenant_slug;
        if not found then
            raise exception 'you are not a member of %', quote_literal(tenant_slug) using errcode = 'RP403';
        end if;
    elsif (select count(*) from public.memberships m where m.user_id = me) = 1 then
        select m.tenant_id, m.role into acting, acting_role from public.memberships m where m.user_id = me;
    end if;
    perform set_config('app.user_id', me::text, true),
            set_config('app.tenant_id', coalesce(acting::text, ''), true),
            set_config('statement_timeout', statement_timeout_ms::text, true);
    -- The rows the policies now show the user anyway (their own user, the acting tenant): the request's first
    -- reads, answered here.
    return query
        select u.id, u.email, u.display_name, u.created_at, t.id, t.slug, t.name, t.kind, t.operator_id, t.created_at,
               acting_role
        from public.users u left join public.tenants t on t.id = acting
        where u.id = me;
end
$$;

revoke execute on function app.open_request(text, text, text, text, text, integer) from public;
grant execute on function app.open_request(text, text, text, text, text, integer) to roundpool_api;

-- Rate-limit leases ---------------------------------------------------------------------------------------
--
-- A process takes up to `wanted` tokens of a bucket at once (resolvers/common/rate_limit.py spends them
-- locally), so a busy tenant costs a round trip per lease, not per request. The bucket stays the one authority:
-- a lease only moves tokens out of it, so every process together never admits more than it grants.
create function app.rate_limit_lease(bucket_key text, capacity double precision, per_second double precision,
                                     wanted integer)
    returns table (granted integer, wait_s double precision)
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    available double precision;
    taken integer;
begin
    if capacity < 1 or per_second <= 0 or wanted < 1 or wanted > capacity then
        raise exception 'a lease needs capacity >= 1, a positive rate and 1 <= wanted <= capacity'
            using errcode = '22023';
    end if;
    insert into app.rate_limit_buckets as b (key, tokens, updated_at)
    values (bucket_key, capacity, clock_timestamp())
    on conflict (key) do update
        set tokens = least(capacity, b.tokens + extract(epoch from clock_timestamp() - b.updated_at) * per_second),
            updated_at = clock_timestamp()
    returning b.tokens into available;
    taken := least(wanted, floor(available))::integer;
    if taken < 1 then
        return query select 0, greatest((1 - available) / per_second, 0.001);
        return;
    end if;
    update app.rate_limit_buckets b set tokens = b.tokens - taken where b.key = bucket_key;
    if random() < 0.01 then  -- as app.rate_limit_take: full buckets are the same as absent ones
        delete from app.rate_limit_buckets
         where updated_at < clock_timestamp() - make_interval(secs => capacity / per_second);
    end if;
    return query select taken, 0::double precision;
end
$$;

revoke all on function app.rate_limit_lease(text, double precision, double precision, integer) from public;
grant execute on function app.rate_limit_lease(text, double precision, double precision, integer) to roundpool_api;
