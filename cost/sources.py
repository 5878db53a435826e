"""Opening an input file (plain, ``.gz`` or ``.zip`` CSV, or Parquet) as a byte stream.

A :class:`Source` knows its file name for error messages and counts the bytes read from the underlying file
(compressed bytes for ``.gz``/``.zip``) so imports can report progress. Without a filesystem, a location is
a local path and nothing else: object stores are reached only through a filesystem built from configuration
(:mod:`cost.locations`), never from a URI's text. Errors raised here come before the file is recognised as a
billing file, so none quotes its bytes.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import pyarrow as pa
import pyarrow.fs as pafs

from cost.errors import CorruptFileError, EmptyFileError, LocationRefused

_HEADER_PROBE = 1 << 20


@dataclass(frozen=True)
class Source:
    name: str
    filesystem: pafs.FileSystem
    path: str
    size: int

    @property
    def kind(self) -> str:
        lower = self.path.lower()
        if lower.endswith(".parquet"):
            return "parquet"
        if lower.endswith(".zip"):
            return "zip"
        if lower.endswith(".gz"):
            return "gzip"
        return "csv"

    @classmethod
    def open(cls, location: str, filesystem: pafs.FileSystem | None = None) -> Source:
        if filesystem is None:
            if "://" in location:
                raise LocationRefused("a URI needs a configured cost source (cost.locations)")
            filesystem, path = pafs.LocalFileSystem(), os.path.abspath(location)
        else:
            path = location
        info = filesystem.get_file_info(path)
        if info.type != pafs.FileType.File:
            raise CorruptFileError(location, "no such file")
        if not info.size:
            raise EmptyFileError(location, "file is empty (0 bytes)")
        return cls(location, filesystem, path, info.size)

    @contextmanager
    def csv_stream(self) -> Iterator[tuple[Any, pa.NativeFile]]:
        """Yield ``(text-bytes stream for the CSV reader, raw file whose tell() is the bytes consumed)``."""
        raw = self.filesystem.open_input_file(self.path)
        try:
            if self.kind == "gzip":
                yield pa.CompressedInputStream(raw, "gzip"), raw
            elif self.kind == "zip":
                with self._zip_member(raw) as member:
                    yield member, raw
            else:
                yield raw, raw
        finally:
            raw.close()

    @contextmanager
    def _zip_member(self, raw: pa.NativeFile) -> Iterator[IO[bytes]]:
        try:
            archive = zipfile.ZipFile(raw)
        except zipfile.BadZipFile as exc:
            raise CorruptFileError(self.name, "not a valid zip archive") from exc
        with archive:
            members = [i for i in archive.infolist() if not i.is_dir()]
            if len(members) != 1:
                raise CorruptFileError(self.name, f"zip must contain exactly one file, found {len(members)}")
            with archive.open(members[0]) as member:
                yield member

    def csv_header(self) -> list[str]:
        """The CSV header row, read from the first megabyte; raises for empty or undecodable files."""
        with self.csv_stream() as (stream, _):
            try:
                head = stream.read(_HEADER_PROBE)
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise CorruptFileError(self.name, "truncated or corrupt compressed data") from exc
        if not head.strip():
            raise EmptyFileError(self.name, "file has no header and no data")
        text = head.decode("utf-8-sig", errors="replace")
        first_line = next(csv.reader(io.StringIO(text)), [])
        return [name.strip() for name in first_line]
