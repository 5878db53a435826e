"""GraphiQL behind a firewall: ROUNDPOOL_GRAPHIQL_ASSETS_URL replaces the public CDN in the page and its CSP."""

import httpx
import pytest
from pydantic import ValidationError

from schema.graphiql import PUBLIC_CDN
from schema.settings import Settings
from tests.plugins.graphql import ClientFor

HOSTED = "https://assets.corp.example/graphiql"


async def test_the_page_loads_its_assets_from_the_configured_url(client_for: ClientFor) -> None:
    async with client_for(graphiql_assets_url=HOSTED) as client:
        page = await client.get("/graphql")
    assert page.status_code == 200
    assert f'src="{HOSTED}/graphiql@' in page.text
    assert f'href="{HOSTED}/graphiql@' in page.text
    assert "unpkg.com" not in page.text
    policy = page.headers["content-security-policy"]
    assert f"script-src {HOSTED}/ 'sha256-" in policy
    assert f"style-src {HOSTED}/ " in policy
    assert "unpkg.com" not in policy
    assert "connect-src 'self'" in policy


async def test_the_default_is_the_public_cdn(http_client: httpx.AsyncClient) -> None:
    page = await http_client.get("/graphql")
    assert f'src="{PUBLIC_CDN}/graphiql@' in page.text
    assert f"script-src {PUBLIC_CDN}/ " in page.headers["content-security-policy"]


@pytest.mark.parametrize(
    "url", ['https://x.example/"><script>alert(1)</script>', "javascript:alert(1)", "https://x.example/?a=b", "ftp://x"]
)
def test_the_assets_url_is_a_plain_http_url(url: str) -> None:
    with pytest.raises(ValidationError, match="is not an http"):
        Settings(graphiql_assets_url=url)


def test_a_trailing_slash_is_dropped() -> None:
    assert Settings(graphiql_assets_url=HOSTED + "/").graphiql_assets_url == HOSTED
