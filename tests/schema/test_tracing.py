"""OpenTelemetry spans through Strawberry's extension: off unless configured; when on, one span per operation
and resolver, with argument names but never their values."""

from typing import Any

import httpx
import pytest

from schema.app import create_app
from schema.settings import Settings
from schema.tracing import TracingUnavailable, configured_provider
from tests.plugins.graphql import token_for
from tests.plugins.world import World


def _traced(app: Any) -> bool:
    extensions = app.state.runtime.schema.extensions
    return any("tracing_extension" in getattr(extension, "__qualname__", "") for extension in extensions)


QUERY = "query TenantBySlug($slug: String!) { tenant(slug: $slug) { slug } }"


async def test_spans_when_enabled(settings: Settings, test_database: Any, world: World) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, test_database.app_url, tracer_provider=provider)
    actor = world.actor("startup_owner")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        for _ in range(2):
            response = await client.post(
                "/graphql",
                json={"query": QUERY, "variables": {"slug": actor.tenant_slug}},
                headers={"authorization": f"Bearer {token_for(actor)}"},
            )
            assert response.json() == {"data": {"tenant": {"slug": actor.tenant_slug}}}
        assert _traced(app)
    spans = exporter.get_finished_spans()
    names = [span.name for span in spans]
    assert names.count("GraphQL Query: TenantBySlug") == 2  # one operation span per request: no shared state
    assert names.count("GraphQL Resolving: tenant") == 2
    assert "GraphQL Parsing" in names
    assert "GraphQL Validation" in names
    resolving = next(span for span in spans if span.name == "GraphQL Resolving: tenant")
    assert resolving.attributes is not None
    assert resolving.attributes["graphql.param.slug"] == "[not recorded]"
    for span in spans:
        assert actor.tenant_slug not in str(dict(span.attributes or {}))


async def test_off_by_default(http_client: httpx.AsyncClient) -> None:
    assert not _traced(http_client.app)  # type: ignore[attr-defined]
    assert configured_provider(None, "roundpool") is None


def test_a_configured_endpoint_without_the_extra_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(TracingUnavailable, match=r"pip install 'roundpool\[tracing\]'"):
        configured_provider("http://collector:4318/v1/traces", "roundpool")
