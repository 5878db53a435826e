-- Onboarding: just-in-time users, tenants created by their first owner or by an operator (revision 0014). Frozen once released: later changes go in a new file.
select 1;
