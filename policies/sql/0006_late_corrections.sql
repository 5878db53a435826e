-- Late data for a closed period (DESIGN.md §5): an import may re-home the rows of locked periods into the next
-- open period as corrections (FOCUS ChargeClass = Correction) instead of failing.
--
-- cost_imports.late_data   what the request asked for: 'reject' (default; a locked period fails the import)
--                          or 'corrections'
-- cost_imports.rehomed     what the job did: [{"source_period", "target_period", "rows"}, ...]

alter table cost_imports
    add column late_data text not null default 'reject' check (late_data in ('reject', 'corrections')),
    add column rehomed jsonb not null default '[]' check (jsonb_typeof(rehomed) = 'array');

-- Same shape as 0004's grants: the request inserts what it asked for, the job updates what it did.
grant insert (late_data), update (rehomed) on cost_imports to roundpool_api;
