-- Cost report assemblies: a manifest and its parts, imported as jobs, published when complete (revision 0015). Frozen once released: later changes go in a new file.
select 1;
