"""Trusted documents (persisted queries): documents the frontend's build registered by the sha256 of their text.

ROUNDPOOL_TRUSTED_DOCUMENTS names a JSON object {"<hex>" or "sha256:<hex>": "<document text>"} (what Relay's
and GraphQL Codegen's persisted-documents output look like). At start-up every entry is checked (its key is the
sha256 of its text), parsed and validated under every limit, and pinned in the schema's document cache; one
that fails stops the server with its hash and why. A request names one by `{"documentId": "sha256:<hex>"}` or
Apollo's `{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}`. With
ROUNDPOOL_TRUSTED_DOCUMENTS_ONLY, a document sent as text runs only when its sha256 is registered: anything
else is refused before it is parsed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLError, specified_rules

from schema.build import RoundpoolSchema
from schema.documents import prepare

_HEX = re.compile(r"[0-9a-f]{64}")
_PREFIX = "sha256:"


class TrustedDocumentsInvalid(Exception):
    """The manifest cannot be used: unreadable, not a {hash: text} object, a wrong hash, or a document that
    fails validation or a limit."""


@dataclass(frozen=True)
class Refused:
    code: str  # PERSISTED_QUERY_NOT_FOUND, DOCUMENT_NOT_TRUSTED, BAD_REQUEST
    message: str


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class TrustedDocuments:
    def __init__(self, by_hash: dict[str, str], *, only: bool) -> None:
        self.by_hash = by_hash
        self.only = only

    @classmethod
    def load(cls, path: Path, schema: RoundpoolSchema, *, only: bool) -> TrustedDocuments:
        """Read, check and pre-validate the manifest; pins every document in `schema`'s cache."""
        try:
            manifest: Any = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise TrustedDocumentsInvalid(f"{path}: {error}") from error
        if not isinstance(manifest, dict):
            raise TrustedDocumentsInvalid(f"{path}: must be a JSON object of sha256 hash → document text")
        by_hash: dict[str, str] = {}
        for key, text in manifest.items():
            digest = key.removeprefix(_PREFIX).lower()
            if not isinstance(text, str) or not _HEX.fullmatch(digest):
                raise TrustedDocumentsInvalid(
                    f"{path}: entry {key!r}: the key must be a sha256 hex digest and the value a document text"
                )
            if document_hash(text) != digest:
                raise TrustedDocumentsInvalid(f"{path}: entry {key!r}: the key is not the sha256 of its document")
            try:
                prepared = prepare(schema._schema, text, schema.document_rules, specified_rules)
            except GraphQLError as error:
                raise TrustedDocumentsInvalid(f"{path}: document {digest}: {error.message}") from error
            if prepared.errors:
                reasons = "; ".join(error.message for error in prepared.errors)
                raise TrustedDocumentsInvalid(f"{path}: document {digest} is refused by validation: {reasons}")
            schema.documents.pin(text, prepared)
            by_hash[digest] = text
        return cls(by_hash, only=only)

    def resolve(self, query: object, document_id: object, extensions: object) -> str | Refused:
        """The document text to run, from a request's `query`, `documentId` and `extensions`."""
        requested = _requested_hash(document_id, extensions)
        if isinstance(requested, Refused):
            return requested
        if requested is not None:
            text = self.by_hash.get(requested)
            if query is not None and (not isinstance(query, str) or document_hash(query) != requested):
                return Refused("BAD_REQUEST", "the query text does not match its sha256 document id")
            if text is None:
                return Refused("PERSISTED_QUERY_NOT_FOUND", f"no trusted document has the id sha256:{requested}")
            return text
        if not isinstance(query, str):
            return Refused("BAD_REQUEST", "the body must be a JSON object with a string 'query' or a 'documentId'")
        if self.only and document_hash(query) not in self.by_hash:
            return Refused(
                "DOCUMENT_NOT_TRUSTED", "this server runs only trusted documents; send a registered documentId"
            )
        return query


def _requested_hash(document_id: object, extensions: object) -> str | Refused | None:
    if document_id is not None:
        if not isinstance(document_id, str) or not _HEX.fullmatch(document_id.removeprefix(_PREFIX)):
            return Refused("BAD_REQUEST", "'documentId' must be 'sha256:' and 64 lowercase hex digits")
        return document_id.removeprefix(_PREFIX)
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        return None
    digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if not isinstance(digest, str) or not _HEX.fullmatch(digest):
        return Refused("BAD_REQUEST", "'extensions.persistedQuery.sha256Hash' must be 64 lowercase hex digits")
    return digest


NO_TRUSTED_DOCUMENTS = TrustedDocuments({}, only=False)
