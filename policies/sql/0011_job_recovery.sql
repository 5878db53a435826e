-- Jobs survive crashes: what stalled-job recovery needs in the database (revision 0011). Frozen once released: later changes go in a new file.
--
-- Cost imports were serialised by one procrastinate lock for the whole store ('cost-store'): a job left
-- 'doing' by a dead worker blocked every operator's imports. Imports now lock their operator's store only
-- ('cost-store:<operator tenant id>', resolvers/cost_imports.py). Jobs queued before this revision move to
-- their operator's lock, so they stop waiting for other operators' jobs; at most one of them is 'doing'
-- (the old lock was unique among running jobs), so the unique index on running locks holds.
update procrastinate_jobs
   set lock = 'cost-store:' || (args ->> 'tenant_id')
 where lock = 'cost-store'
   and task_name = 'import_cost_report'
   and status in ('todo', 'doing')
   and args ? 'tenant_id';
