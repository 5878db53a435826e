-- One live assembly per delivery (revision 0020). Frozen once released: later changes go in a new file.
--
-- A delivery is (operator, source, report, period, assemblyId/executionId). The request looked for a live
-- assembly of it and inserted one when there was none; two requests at once (two API processes, or two
-- clients) both found none and both queued every part, so the delivery was staged and published twice.
-- Requests now serialise on the delivery's advisory lock (db/queries/cost_assemblies.same_delivery), and this
-- constraint holds the rule whatever the code does: at most one queued, publishing or succeeded assembly per
-- delivery. It is checked at commit (deferred) because the request inserts a repeated delivery as `queued`
-- and marks it `duplicate` in the same transaction. It includes tenant_id, as Citus requires.

-- Deliveries queued more than once before this revision: the one the catalog holds (the last to succeed),
-- else the one being published, else the first queued, stays live; the others become `superseded`, which
-- their pending part and publication jobs treat as done.
with ranked as (
    select tenant_id, id,
           row_number() over (
               partition by tenant_id, source_name, report, period, assembly_key
               order by case status when 'succeeded' then 0 when 'publishing' then 1 else 2 end,
                        case when status = 'succeeded' then finished_at end desc nulls last,
                        created_at, id
           ) as rank
    from cost_assemblies
    where status in ('queued', 'publishing', 'succeeded')
)
update cost_assemblies a
set status = 'superseded', finished_at = coalesce(a.finished_at, now())
from ranked r
where a.tenant_id = r.tenant_id and a.id = r.id and r.rank > 1;

alter table cost_assemblies
    add constraint cost_assemblies_one_live_delivery
    exclude using btree (tenant_id with =, source_name with =, report with =, period with =, assembly_key with =)
    where (status in ('queued', 'publishing', 'succeeded'))
    deferrable initially deferred;
