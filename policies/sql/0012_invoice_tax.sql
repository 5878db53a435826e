-- Invoices a customer accepts: tax treatment, qualified-invoice details, payment terms (revision 0012). Frozen once released: later changes go in a new file.
select 1;
