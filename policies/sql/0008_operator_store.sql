-- One cost store per operator: account ids unique per operator, operator-keyed imports and locks (revision 0008). Frozen once released: later changes go in a new file.
select 1;
