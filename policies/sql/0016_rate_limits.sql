-- Per-tenant request rate limits shared by every API process (revision 0016). Frozen once released: later changes go in a new file.
--
-- One token bucket per key ('tenant:<id>', 'user:<id>', 'ip:<address>'), refilled continuously at `per_second`
-- up to `capacity`. Unlogged: buckets are lost on a crash, which only forgives some requests. The table lives in
-- the private schema and the app role has no privilege on it: it can only take a token through the function.
create unlogged table app.rate_limit_buckets (
    key text primary key check (length(key) <= 200),
    tokens double precision not null,
    updated_at timestamptz not null
);
create index rate_limit_buckets_updated_idx on app.rate_limit_buckets (updated_at);

-- Takes one token from the key's bucket: 0 when taken, otherwise the seconds until one is available. One
-- statement under the row's lock, so concurrent requests of several processes never both take the last token.
create function app.rate_limit_take(bucket_key text, capacity double precision, per_second double precision)
    returns double precision
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    available double precision;
begin
    if capacity < 1 or per_second <= 0 then
        raise exception 'rate limit needs capacity >= 1 and a positive rate' using errcode = '22023';
    end if;
    insert into app.rate_limit_buckets as b (key, tokens, updated_at)
    values (bucket_key, capacity - 1, clock_timestamp())
    on conflict (key) do update
        set tokens = least(capacity, b.tokens + extract(epoch from clock_timestamp() - b.updated_at) * per_second) - 1,
            updated_at = clock_timestamp()
        where least(capacity, b.tokens + extract(epoch from clock_timestamp() - b.updated_at) * per_second) >= 1;
    if found then
        -- Full buckets are the same as absent ones: forget them now and then, so keys (client addresses) do not pile up.
        if random() < 0.01 then
            delete from app.rate_limit_buckets
             where updated_at < clock_timestamp() - make_interval(secs => capacity / per_second);
        end if;
        return 0;
    end if;
    select least(capacity, b.tokens + extract(epoch from clock_timestamp() - b.updated_at) * per_second)
      into available from app.rate_limit_buckets b where b.key = bucket_key;
    return greatest((1 - available) / per_second, 0.001);
end
$$;

revoke all on function app.rate_limit_take(text, double precision, double precision) from public;
grant execute on function app.rate_limit_take(text, double precision, double precision) to roundpool_api;
