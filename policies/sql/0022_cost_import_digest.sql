-- A cost file's identity is its BLAKE3 digest since this revision (cost/digests.py: SHA-256 was ≈ 11 % of an
-- import's CPU); the column that holds it is named for what it is. Digests recorded before are SHA-256, of the
-- same form (64 lowercase hex digits); the check constraint and the app role's column grant follow the
-- rename, the index too. The constraint is renamed with it, so that its name says what it checks.
alter table cost_imports rename column sha256 to digest;
alter table cost_imports rename constraint cost_imports_sha256_check to cost_imports_digest_check;
alter index cost_imports_sha_idx rename to cost_imports_digest_idx;
