"""The GraphiQL page (development, or ROUNDPOOL_GRAPHIQL=true): Strawberry's own page, its scripts and styles
loaded from ROUNDPOOL_GRAPHIQL_ASSETS_URL instead of the public CDN, so a company can host them behind its
firewall (the same files at the same paths: `<base>/graphiql@3.8.3/graphiql.min.js`, …; the page keeps their
subresource-integrity hashes). Its Content-Security-Policy allows exactly that base, the page's own inline
script (by hash) and this server for queries.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from strawberry.http.ides import get_graphql_ide_html

PUBLIC_CDN = "https://unpkg.com"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@dataclass(frozen=True)
class GraphiQLPage:
    html: str
    content_security_policy: str


def graphiql_page(assets_url: str) -> GraphiQLPage:
    template = get_graphql_ide_html()
    if f'"{PUBLIC_CDN}/' not in template:  # a Strawberry upgrade moved its CDN: the page would load elsewhere
        raise RuntimeError(f"Strawberry's GraphiQL page no longer loads from {PUBLIC_CDN}; update schema/graphiql.py")
    html = template.replace(f'"{PUBLIC_CDN}/', f'"{assets_url}/')
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    assets = assets_url + "/"
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {assets} {hashes}",
            f"style-src {assets} 'unsafe-inline'",
            f"font-src {assets} data:",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return GraphiQLPage(html=html, content_security_policy=policy)
