-- Staged cap-table imports: drafts a founder inspects and corrects before committing (revision 0013). Frozen once released: later changes go in a new file.
select 1;
