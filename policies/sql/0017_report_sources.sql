-- Report sources an operator registers for scheduled sync from a bucket (revision 0017). Frozen once released: later changes go in a new file.
select 1;
