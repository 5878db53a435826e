-- Membership by consent: invitations the invitee accepts (revision 0010). Frozen once released: later changes go in a new file.
select 1;
