"""Where an import may read: the cost sources the operator configured, and the one function that maps a
client-given location onto them (:meth:`CostSources.resolve`).

A client names a file as an absolute path under a configured local folder, or as ``s3://bucket/key`` under a
configured ``s3://bucket/prefix``. The filesystem is built from the source's settings (endpoint, region,
credentials), never from the location: a client chooses no scheme, host, port or query parameter, and
``pyarrow.fs.FileSystem.from_uri`` never sees its text. Local paths are checked lexically (no ``.``/``..``
segment) and after resolving links (the real path stays under the real root), and must be regular files.

Refusals quote nothing of the target (not its content, not a server's answer, not whether a path outside the
sources exists); they name only the sources the operator may use.
"""

from __future__ import annotations

import logging
import os
import posixpath
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from cost.errors import LocationRefused, NotInSource, SourceUnavailable

_logger = logging.getLogger("roundpool.cost.sources")
_FORBIDDEN = frozenset("\\?#")
_S3_FORBIDDEN = frozenset("%")


@dataclass(frozen=True)
class LocalSource:
    name: str
    root: str  # absolute and normalised, as configured (links are resolved at every check)
    operators: frozenset[str] | None = None  # operator tenant slugs that may use it; None: every operator


@dataclass(frozen=True)
class S3Source:
    name: str
    bucket: str
    prefix: str  # without leading or trailing "/"; "" = the whole bucket
    endpoint: str | None = None  # "http(s)://host[:port]"; None: AWS
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key_file: Path | None = None
    operators: frozenset[str] | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def filesystem(self) -> pafs.S3FileSystem:
        options: dict[str, str] = {}
        if self.endpoint is not None:
            parts = urlsplit(self.endpoint)
            options["scheme"], options["endpoint_override"] = parts.scheme, parts.netloc
        if self.region is not None:
            options["region"] = self.region
        if self.access_key_id is not None and self.secret_access_key_file is not None:
            options["access_key"] = self.access_key_id
            options["secret_key"] = self.secret_access_key_file.read_text().strip()
        return pafs.S3FileSystem(**options)


Source = LocalSource | S3Source


@dataclass(frozen=True)
class ResolvedLocation:
    """A file of a configured source: ``location`` is the canonical text (kept on the manifest, shown in
    errors); ``filesystem`` and ``path`` are what the engine opens."""

    location: str
    source: str
    filesystem: pafs.FileSystem
    path: str
    size: int

    @property
    def name(self) -> str:
        return self.location.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ResolvedFolder:
    """A folder (local) or prefix (S3) of a configured source: ``location`` in the client's terms, ``path`` as
    ``filesystem`` lists it."""

    location: str
    source: str
    filesystem: pafs.FileSystem
    path: str


@dataclass(frozen=True)
class CostSources:
    """The configured sources; the empty default refuses every location (production without settings)."""

    sources: tuple[Source, ...] = ()

    @classmethod
    def development(cls) -> CostSources:
        """Nothing configured in development: any plain absolute local path (no URI, no query)."""
        return cls((LocalSource("any absolute local path (development)", "/"),))

    def usable_by(self, operator: str) -> tuple[Source, ...]:
        return tuple(s for s in self.sources if s.operators is None or operator in s.operators)

    def resolve(self, location: str, operator: str) -> ResolvedLocation:
        """The file `location` names in a source `operator` (a tenant slug) may use, or a :class:`SourceError`.

        Blocking (stats a local file or asks the object store): call it on a thread from async code.
        """
        usable = self.usable_by(operator)
        text = location.strip()
        if not text or any(c in _FORBIDDEN or not c.isprintable() for c in text):
            raise self._refused(usable)
        if text.startswith("s3://"):
            return self._s3(text, [s for s in usable if isinstance(s, S3Source)], usable)
        if "://" in text or not text.startswith("/") or text.startswith("//"):
            raise self._refused(usable)
        return self._local(text, [s for s in usable if isinstance(s, LocalSource)], usable)

    def _local(self, text: str, sources: list[LocalSource], usable: tuple[Source, ...]) -> ResolvedLocation:
        if any(part in (".", "..") for part in text.split("/")):
            raise self._refused(usable)
        path = posixpath.normpath(text)
        for source in sources:
            if not _under(path, source.root):
                continue
            real = os.path.realpath(path)
            if not _under(real, os.path.realpath(source.root)):
                continue  # a link that leaves the root
            try:
                status = os.stat(real)
            except OSError:
                raise NotInSource(f"no such file in cost source {source.name!r}") from None
            if not stat.S_ISREG(status.st_mode):
                raise NotInSource(f"not a regular file in cost source {source.name!r}")
            return ResolvedLocation(path, source.name, pafs.LocalFileSystem(), real, status.st_size)
        raise self._refused(usable)

    def _s3(self, text: str, sources: list[S3Source], usable: tuple[Source, ...]) -> ResolvedLocation:
        bucket, slash, key = text[len("s3://") :].partition("/")
        segments = key.split("/")
        if not slash or any(c in _S3_FORBIDDEN for c in text) or any(s in ("", ".", "..") for s in segments):
            raise self._refused(usable)
        for source in sources:
            if bucket != source.bucket or (source.prefix and not key.startswith(source.prefix + "/")):
                continue
            try:
                filesystem = source.filesystem()
                info = filesystem.get_file_info(f"{bucket}/{key}")
            except OSError:
                _logger.warning("cost source %r did not answer", source.name, exc_info=True)
                reason = f"cost source {source.name!r} could not be read; see the server's log"
                raise SourceUnavailable(reason) from None
            if info.type != pafs.FileType.File:
                raise NotInSource(f"no such file in cost source {source.name!r}")
            return ResolvedLocation(
                f"s3://{bucket}/{key}", source.name, filesystem, f"{bucket}/{key}", int(info.size or 0)
            )
        raise self._refused(usable)

    def resolve_folder(self, location: str, operator: str) -> ResolvedFolder:
        """The folder or prefix `location` names inside a source `operator` may use (the same checks as
        :meth:`resolve`; an S3 prefix need not hold anything yet, a local folder must exist)."""
        usable = self.usable_by(operator)
        text = location.strip().rstrip("/")
        if not text or any(c in _FORBIDDEN or not c.isprintable() for c in text):
            raise self._refused(usable)
        if text.startswith("s3://"):
            bucket, _, key = text[len("s3://") :].partition("/")
            if any(c in _S3_FORBIDDEN for c in text) or (key and any(s in ("", ".", "..") for s in key.split("/"))):
                raise self._refused(usable)
            for s3 in (s for s in usable if isinstance(s, S3Source)):
                if bucket == s3.bucket and (not s3.prefix or key == s3.prefix or key.startswith(s3.prefix + "/")):
                    return ResolvedFolder(text, s3.name, s3.filesystem(), f"{bucket}/{key}".rstrip("/"))
            raise self._refused(usable)
        if (
            "://" in text
            or not text.startswith("/")
            or text.startswith("//")
            or any(part in (".", "..") for part in text.split("/"))
        ):
            raise self._refused(usable)
        path = posixpath.normpath(text)
        for local in (s for s in usable if isinstance(s, LocalSource)):
            real = os.path.realpath(path)
            if not _under(path, local.root) or not _under(real, os.path.realpath(local.root)):
                continue
            if not os.path.isdir(real):
                raise NotInSource(f"no such folder in cost source {local.name!r}")
            return ResolvedFolder(path, local.name, pafs.LocalFileSystem(), real)
        raise self._refused(usable)

    @staticmethod
    def _refused(usable: tuple[Source, ...]) -> LocationRefused:
        if not usable:
            return LocationRefused(
                "imports read only from configured cost sources (ROUNDPOOL_COST_SOURCES, "
                "ROUNDPOOL_COST_IMPORT_ROOTS), and none is configured for this operator"
            )
        names = ", ".join(_describe(s) for s in usable)
        return LocationRefused(
            "imports read only from configured cost sources (ROUNDPOOL_COST_SOURCES, ROUNDPOOL_COST_IMPORT_ROOTS): "
            f"give an absolute path under a source's folder or s3://bucket/prefix/… of a source's bucket; "
            f"yours: {names}"
        )


NO_SOURCES = CostSources()


def _describe(source: Source) -> str:
    where = source.root if isinstance(source, LocalSource) else source.url
    return source.name if source.name == where else f"{source.name} ({where})"


def _under(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root.rstrip("/") + "/")


def source_from_config(
    *,
    name: str,
    url: str,
    endpoint: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key_file: Path | None = None,
    operators: Collection[str] | None = None,
) -> Source:
    """One configured source; raises ``ValueError`` saying what is wrong with the entry."""
    allowed = None if operators is None else frozenset(operators)
    if not name.strip():
        raise ValueError("a cost source needs a name")
    if url.startswith("s3://"):
        parts = urlsplit(url)
        if parts.query or parts.fragment or "@" in parts.netloc or not parts.netloc or "%" in url:
            raise ValueError(f"cost source {name!r}: url must be s3://bucket/prefix (no query, no credentials)")
        prefix = parts.path.strip("/")
        if prefix and any(s in ("", ".", "..") for s in prefix.split("/")):
            raise ValueError(f"cost source {name!r}: the prefix has an empty, '.' or '..' segment")
        if endpoint is not None:
            target = urlsplit(endpoint)
            if (
                target.scheme not in ("http", "https")
                or not target.netloc
                or target.path.strip("/")
                or target.query
                or target.fragment
                or "@" in target.netloc
            ):
                raise ValueError(f"cost source {name!r}: endpoint must be http(s)://host[:port]")
        if (access_key_id is None) != (secret_access_key_file is None):
            raise ValueError(f"cost source {name!r}: give access_key_id and secret_access_key_file together")
        return S3Source(name, parts.netloc, prefix, endpoint, region, access_key_id, secret_access_key_file, allowed)
    if "://" in url or not os.path.isabs(url):
        raise ValueError(f"cost source {name!r}: url must be an absolute folder or s3://bucket/prefix")
    if any(s in (".", "..") for s in url.split("/")):
        raise ValueError(f"cost source {name!r}: the folder has a '.' or '..' segment")
    if endpoint or region or access_key_id or secret_access_key_file:
        raise ValueError(f"cost source {name!r}: endpoint, region and credentials are for s3:// sources")
    return LocalSource(name, posixpath.normpath(url), allowed)


def configured_sources(
    entries: list[Source] | None, roots: Collection[Path] | None, *, development: bool
) -> CostSources:
    """The sources of the settings; nothing configured → any local path in development, nothing in production."""
    if entries is None and roots is None:
        return CostSources.development() if development else CostSources()
    local = [source_from_config(name=str(root), url=str(root)) for root in roots or ()]
    return CostSources((*local, *(entries or ())))
