"""`CostSources.resolve`: the one function between a client's location text and a filesystem."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from cost.errors import CostError, LocationRefused, NotInSource, SourceUnavailable
from cost.locations import CostSources, LocalSource, configured_sources, source_from_config
from cost.readers import Reader
from cost.sources import Source
from schema.settings import Settings
from tests.plugins.listener import recording_listener
from tests.plugins.s3server import moto_s3, s3_client

SECRET = "JWT_SECRET=do-not-echo-me-4711"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "imports"
    (folder / "2023-11").mkdir(parents=True)
    (folder / "2023-11" / "cur.csv").write_text("lineItem/UsageAccountId\n1\n")
    (tmp_path / "secret.txt").write_text(SECRET)
    return folder


def local(root: Path, **kw: object) -> CostSources:
    return CostSources((source_from_config(name="cur", url=str(root), **kw),))  # type: ignore[arg-type]


def test_a_file_under_the_root_resolves_to_the_local_filesystem(root: Path) -> None:
    found = local(root).resolve(f"{root}/2023-11/cur.csv", "ops")
    assert (found.location, found.source, found.name) == (f"{root}/2023-11/cur.csv", "cur", "cur.csv")
    assert isinstance(found.filesystem, pafs.LocalFileSystem)
    assert found.size == len("lineItem/UsageAccountId\n1\n")


@pytest.mark.parametrize(
    "given",
    [
        "file://{tmp}/secret.txt",
        "file://{root}/2023-11/cur.csv",
        "{tmp}/secret.txt",
        "{root}/../secret.txt",
        "{root}/2023-11/./cur.csv",
        "//{root}/2023-11/cur.csv",
        "{root}/2023-11/cur.csv?x=1",
        "{root}/2023-11/cur.csv#frag",
        "{root}\\2023-11\\cur.csv",
        "{root}/2023-11/cur\x07.csv",
        "{root}/2023-11/cur\x00.csv",
        "relative/cur.csv",
        "gs://bucket/cur.csv",
        "http://169.254.169.254/latest/meta-data",
        "s3://bucket/cur.csv?endpoint_override=127.0.0.1:1&scheme=http",
        "",
    ],
)
def test_anything_but_a_plain_path_under_a_root_is_refused_quoting_nothing(
    root: Path, tmp_path: Path, given: str
) -> None:
    location = given.format(tmp=tmp_path, root=root)
    with pytest.raises(LocationRefused) as caught:
        local(root).resolve(location, "ops")
    assert "secret" not in caught.value.reason
    assert SECRET not in caught.value.reason
    assert f"yours: cur ({root})" in caught.value.reason


def test_a_symlink_that_leaves_the_root_is_refused(root: Path, tmp_path: Path) -> None:
    (root / "2023-11" / "report.csv").symlink_to(tmp_path / "secret.txt")
    (root / "escape").symlink_to(tmp_path, target_is_directory=True)
    (root / "inside.csv").symlink_to(root / "2023-11" / "cur.csv")
    sources = local(root)
    for location in (f"{root}/2023-11/report.csv", f"{root}/escape/secret.txt"):
        with pytest.raises(LocationRefused):
            sources.resolve(location, "ops")
    inside = sources.resolve(f"{root}/inside.csv", "ops")  # a link that stays inside is fine
    assert inside.path == os.path.realpath(root / "2023-11" / "cur.csv")


def test_the_root_itself_may_be_a_link(root: Path, tmp_path: Path) -> None:
    (tmp_path / "alias").symlink_to(root, target_is_directory=True)
    found = local(tmp_path / "alias").resolve(f"{tmp_path}/alias/2023-11/cur.csv", "ops")
    assert found.path == str(root / "2023-11" / "cur.csv")


def test_missing_or_non_regular_files_inside_a_root(root: Path) -> None:
    os.mkfifo(root / "pipe.csv")
    sources = local(root)
    with pytest.raises(NotInSource, match="no such file in cost source 'cur'"):
        sources.resolve(f"{root}/nope.csv", "ops")
    for location in (f"{root}/pipe.csv", f"{root}/2023-11", str(root)):
        with pytest.raises(NotInSource, match="not a regular file"):
            sources.resolve(location, "ops")


def test_sources_restricted_to_other_operators_are_invisible(root: Path) -> None:
    sources = local(root, operators=["nimbus-ops"])
    assert sources.resolve(f"{root}/2023-11/cur.csv", "nimbus-ops").source == "cur"
    with pytest.raises(LocationRefused) as caught:
        sources.resolve(f"{root}/2023-11/cur.csv", "other-ops")
    assert "none is configured for this operator" in caught.value.reason
    assert str(root) not in caught.value.reason


def test_defaults_development_any_local_path_production_nothing(root: Path) -> None:
    path = f"{root}/2023-11/cur.csv"
    assert configured_sources(None, None, development=True).resolve(path, "ops").location == path
    with pytest.raises(LocationRefused, match="none is configured"):
        configured_sources(None, None, development=False).resolve(path, "ops")
    with pytest.raises(LocationRefused):
        CostSources.development().resolve(f"file://{path}", "ops")
    with pytest.raises(LocationRefused):
        CostSources.development().resolve(f"s3://bucket/{path}", "ops")


def test_settings_build_the_sources_and_refuse_bad_entries(tmp_path: Path) -> None:
    assert Settings(environment="production").cost_import_sources == CostSources()
    assert Settings(environment="development").cost_import_sources == CostSources.development()
    roots = Settings(environment="production", cost_import_roots=[tmp_path]).cost_import_sources
    assert roots == CostSources((LocalSource(str(tmp_path), str(tmp_path)),))
    both = Settings(cost_import_roots=[tmp_path], cost_sources=[{"name": "s3", "url": "s3://b/p"}])
    assert [s.name for s in both.cost_import_sources.sources] == [str(tmp_path), "s3"]
    for bad in (
        {"name": "x", "url": "s3://b/p?endpoint_override=evil:80"},
        {"name": "x", "url": "file:///etc"},
        {"name": "x", "url": "relative"},
        {"name": "x", "url": "/srv/../etc"},
        {"name": "x", "url": "s3://b/p", "endpoint": "http://h:1/path"},
        {"name": "x", "url": "s3://b/p", "endpoint": "ftp://h:1"},
        {"name": "x", "url": "s3://b/p", "access_key_id": "k"},
        {"name": "x", "url": "/srv", "endpoint": "http://h:1"},
        {"name": "x", "url": "/srv", "unknown": 1},
    ):
        with pytest.raises(ValueError, match=r"cost source|extra"):
            Settings(cost_sources=[bad])


def test_source_open_without_a_filesystem_is_local_only(root: Path) -> None:
    with pytest.raises(LocationRefused):
        Source.open("s3://bucket/key.csv?endpoint_override=127.0.0.1:1&scheme=http")
    assert Source.open(str(root / "2023-11" / "cur.csv")).size > 0


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback port that records whatever connects to it (the SSRF target)."""
    with recording_listener(b"INTERNAL-XYZ") as listening:
        yield listening


@pytest.fixture
def s3() -> Iterator[str]:
    pytest.importorskip("moto.server")
    pytest.importorskip("boto3")
    with moto_s3() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket="costs")
        client.put_object(Bucket="costs", Key="cur/2023-11/cur.csv", Body=b"lineItem/UsageAccountId\n1\n")
        client.put_object(Bucket="costs", Key="other/secret.csv", Body=SECRET.encode())
        client.close()
        yield endpoint


def s3_sources(endpoint: str, tmp_path: Path) -> CostSources:
    key_file = tmp_path / "s3-secret"
    key_file.write_text("testing\n")
    return CostSources(
        (
            source_from_config(
                name="nimbus-cur",
                url="s3://costs/cur",
                endpoint=f"http://{endpoint}",
                region="us-east-1",
                access_key_id="testing",
                secret_access_key_file=key_file,
            ),
        )
    )


def test_s3_files_under_the_configured_prefix_resolve_with_the_configured_endpoint(s3: str, tmp_path: Path) -> None:
    endpoint = s3
    found = s3_sources(endpoint, tmp_path).resolve("s3://costs/cur/2023-11/cur.csv", "ops")
    assert (found.location, found.path, found.source) == (
        "s3://costs/cur/2023-11/cur.csv",
        "costs/cur/2023-11/cur.csv",
        "nimbus-cur",
    )
    assert Source.open(found.path, found.filesystem).csv_header() == ["lineItem/UsageAccountId"]


def test_s3_locations_outside_the_prefix_or_with_a_query_are_refused_without_a_request(
    s3: str, tmp_path: Path, listener: tuple[int, list[bytes]]
) -> None:
    endpoint = s3
    port, received = listener
    sources = s3_sources(endpoint, tmp_path)
    for location in (
        f"s3://costs/cur/2023-11/cur.csv?endpoint_override=127.0.0.1:{port}&scheme=http",
        f"s3://costs/cur/x.csv#@127.0.0.1:{port}",
        "s3://costs/other/secret.csv",
        "s3://costs/cur/../other/secret.csv",
        "s3://costs/cur/%2e%2e/other/secret.csv",
        "s3://costs/cur//2023-11/cur.csv",
        "s3://costs/curious/x.csv",
        "s3://elsewhere/cur/2023-11/cur.csv",
        "s3://costs",
        f"s3://127.0.0.1:{port}/cur/x.csv",
    ):
        with pytest.raises(LocationRefused) as caught:
            sources.resolve(location, "ops")
        assert "nimbus-cur (s3://costs/cur)" in caught.value.reason
        assert SECRET not in caught.value.reason
    with pytest.raises(NotInSource):
        sources.resolve("s3://costs/cur/2023-11/missing.csv", "ops")
    assert received == []


def test_a_source_that_does_not_answer_is_reported_without_details(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceUnavailable) as caught:
        _sources_at(f"http://127.0.0.1:{port}", tmp_path).resolve("s3://costs/cur/x.csv", "ops")
    assert caught.value.reason == "cost source 'broken' could not be read; see the server's log"


def test_an_answer_that_is_not_a_billing_file_is_not_quoted(tmp_path: Path, listener: tuple[int, list[bytes]]) -> None:
    port, received = listener
    found = _sources_at(f"http://127.0.0.1:{port}", tmp_path).resolve("s3://costs/cur/x.csv", "ops")
    with pytest.raises(CostError) as caught:
        Reader(found.path, found.filesystem)
    assert "INTERNAL-XYZ" not in str(caught.value)
    assert received  # the configured endpoint, and only it, was asked


def _sources_at(endpoint: str, tmp_path: Path) -> CostSources:
    key = tmp_path / "key"
    key.write_text("secret")
    return CostSources(
        (
            source_from_config(
                name="broken",
                url="s3://costs/cur",
                endpoint=endpoint,
                region="us-east-1",
                access_key_id="k",
                secret_access_key_file=key,
            ),
        )
    )
