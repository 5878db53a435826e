"""Parsed and validated documents, once per distinct text: the limits (tokens, depth, aliases, introspection) are
validation rules built once per schema, so a document's verdict is the same for every request and is cached.

Strawberry's own ParserCache/ValidationCache key validation by the rule classes, and its depth and alias limiters
create new rule classes per instance: as per-request factories their key never matched. Here one extension
(a fresh instance per request, the cache shared) does both steps, keyed by the document text alone, which is
sound because the rules never change for the life of the schema.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from graphql import ASTValidationRule, DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# A text longer than this is parsed and validated on every request, as without the cache: 256 entries of at
# most 64 KiB bound the cache to 16 MiB of text whatever a client sends.
MAX_CACHED_CHARS = 64 * 1024


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    errors: tuple[GraphQLError, ...]  # () when the document is valid under every rule and limit


class DocumentCache:
    """A bounded LRU of prepared documents keyed by their text, plus pinned entries (trusted documents) that
    are never evicted."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self._pinned: dict[str, Prepared] = {}
        self._lock = threading.Lock()  # the CLI and tests may execute from threads

    def get(self, text: str) -> Prepared | None:
        pinned = self._pinned.get(text)
        if pinned is not None:
            return pinned
        with self._lock:
            entry = self._entries.get(text)
            if entry is not None:
                self._entries.move_to_end(text)
            return entry

    def put(self, text: str, prepared: Prepared) -> None:
        if len(text) > MAX_CACHED_CHARS or self.maxsize <= 0:
            return
        with self._lock:
            self._entries[text] = prepared
            self._entries.move_to_end(text)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def pin(self, text: str, prepared: Prepared) -> None:
        self._pinned[text] = prepared

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class DocumentRules:
    """What every document is checked against: the parser's token limit and the extra validation rules."""

    max_tokens: int
    rules: tuple[type[ASTValidationRule], ...]


def prepare(schema: object, text: str, rules: DocumentRules, base: Sequence[type[ASTValidationRule]]) -> Prepared:
    """Parse under the token limit and validate under `base` (Strawberry's and graphql-core's rules) plus the
    limits. Raises GraphQLError (syntax, too many tokens): such a text is not cached."""
    document = parse(text, max_tokens=rules.max_tokens)
    errors = validate_document(schema, document, (*base, *rules.rules))  # type: ignore[arg-type]
    return Prepared(document, tuple(errors))


class CachedDocuments(SchemaExtension):
    """Per request (STYLE trap 5): sets the cached document before Strawberry would parse, and the cached
    verdict before it would validate. A miss parses under the token limit and validates under every rule."""

    def __init__(self, cache: DocumentCache, rules: DocumentRules) -> None:
        self._cache = cache
        self._rules = rules
        self._hit: Prepared | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        text = context.query
        self._hit = self._cache.get(text) if text else None
        if self._hit is not None:
            context.graphql_document = self._hit.document
        else:
            context.parse_options["max_tokens"] = self._rules.max_tokens  # Strawberry parses; errors stay its own
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        prepared = self._hit
        if prepared is None and context.graphql_document is not None:
            errors = validate_document(
                context.schema._schema, context.graphql_document, (*context.validation_rules, *self._rules.rules)
            )
            prepared = Prepared(context.graphql_document, tuple(errors))
            if context.query:
                self._cache.put(context.query, prepared)
        if prepared is not None:
            context.pre_execution_errors = list(prepared.errors)
        yield
