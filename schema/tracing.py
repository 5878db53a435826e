"""OpenTelemetry spans for GraphQL operations (Strawberry's extension), only when configured.

Nothing of OpenTelemetry is imported unless ROUNDPOOL_OTEL_ENDPOINT is set (or a test hands in a provider).
Spans carry the document text and each resolver's argument names, never the values: variables and arguments
hold tenant data, and the collector is outside the tenant boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphql import GraphQLResolveInfo
    from opentelemetry.sdk.trace import TracerProvider
    from strawberry.extensions import SchemaExtension


class TracingUnavailable(Exception):
    """Tracing is configured but the `tracing` extra is not installed."""


def configured_provider(endpoint: str | None, service_name: str) -> TracerProvider | None:
    """A provider exporting OTLP/HTTP to `endpoint` in batches, or None when tracing is off."""
    if endpoint is None:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        raise TracingUnavailable(
            "ROUNDPOOL_OTEL_ENDPOINT is set but OpenTelemetry is not installed: pip install 'roundpool[tracing]'"
        ) from error
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def _names_only(arguments: dict[str, Any], info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    return dict.fromkeys(arguments, "[not recorded]")


def tracing_extension(provider: TracerProvider) -> Callable[[], SchemaExtension]:
    """A factory: Strawberry keeps per-request spans on the extension, so each request needs its own."""
    from strawberry.extensions.tracing import OpenTelemetryExtension

    return lambda: OpenTelemetryExtension(tracer_provider=provider, arg_filter=_names_only)
