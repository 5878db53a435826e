"""The Strawberry schema, with the per-request limits as extension factories (never shared instances)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.roots.tenancy_mutation import TenancyMutation
from schema.roots.tenancy_query import TenancyQuery

# One class per domain; each domain adds its own here.
QUERIES: tuple[type, ...] = (TenancyQuery,)
MUTATIONS: tuple[type, ...] = (TenancyMutation,)


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    introspection: bool = True


class RoundpoolSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are classified and logged with the request id by `schema.execution`."""


def build_schema(limits: Limits = Limits()) -> strawberry.Schema:
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: QueryDepthLimiter(max_depth=limits.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    return RoundpoolSchema(query=query, mutation=mutation, extensions=extensions)
