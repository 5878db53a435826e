-- Jobs survive crashes: what stalled-job recovery needs in the database (revision 0011). Frozen once released: later changes go in a new file.
select 1;
