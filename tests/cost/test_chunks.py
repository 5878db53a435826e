"""The CSV is parsed in chunks on threads: every row, value, order and error must be those of one parse of the
whole file, also when quoted newlines, commas and quotes fall on the chunk boundaries."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest

from cost import readers
from cost.chunks import Joined
from cost.columns import SCHEMA
from cost.errors import CorruptFileError, InvalidNumberError
from cost.readers import Reader
from tests.plugins.cost_files import LEGACY_HEADER, WriteLegacy

WHOLE = 1 << 30  # one chunk: Arrow parses the whole file at once


def read_all(path: Path, block_size: int) -> pa.Table:
    return pa.Table.from_batches(list(Reader(str(path), block_size=block_size, batch_rows=37)), schema=SCHEMA)


def tricky_rows(n: int) -> list[dict[str, str]]:
    names = ["plain", "line one\nline two", 'say "hi"', "a,b,c", "\n", '"\n"', 'multi\n\n\nlines,\n"x"']
    return [
        {
            "product/ProductName": f"{names[i % len(names)]} {i}",
            "lineItem/UnblendedCost": f"{i}.{i % 7}E-{i % 5}",
            "lineItem/UsageAccountId": f"{100000000000 + i % 3}",
            "resourceTags/user:Team": "" if i % 4 else f"team\n{i}",
        }
        for i in range(n)
    ]


# 64 and 97: rows longer than four blocks, which go to the serial parse.
@pytest.mark.parametrize("block_size", [64, 97, 256, 1000, 4096])
def test_quoted_newlines_commas_and_quotes_on_chunk_boundaries(
    legacy_csv: WriteLegacy, block_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = legacy_csv(tricky_rows(400))
    serial: list[int] = []
    real_serial = Reader._serial

    def counted(self: Reader, *args: object) -> object:
        serial.append(1)
        return real_serial(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Reader, "_serial", counted)
    chunked = read_all(path, block_size)
    assert chunked.equals(read_all(path, WHOLE))
    with path.open(newline="") as handle:
        raw = list(csv.DictReader(handle))
    assert chunked.column("ServiceName").to_pylist() == [r["product/ProductName"] for r in raw]
    if block_size >= 4096:  # chunks of many rows: a boundary inside quotes is merged, not parsed serially
        assert not serial


def test_crlf_and_a_last_row_without_newline(tmp_path: Path, legacy_csv: WriteLegacy) -> None:
    source = legacy_csv(tricky_rows(120))
    text = source.read_bytes().replace(b"\r\n", b"\n")
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(text.replace(b"\n", b"\r\n").rstrip(b"\r\n"))
    assert read_all(crlf, 200).equals(read_all(crlf, WHOLE))
    assert read_all(crlf, 200).num_rows == 120


def test_a_stray_quote_in_an_unquoted_field_reads_as_arrow_reads_it(tmp_path: Path) -> None:
    lines = [",".join(LEGACY_HEADER)]
    for i in range(200):
        values = dict.fromkeys(LEGACY_HEADER, "")
        values.update(
            {
                "bill/PayerAccountId": "999988887777",
                "bill/BillingPeriodStartDate": "2023-11-01T00:00:00Z",
                "lineItem/UsageAccountId": "111111111111",
                "lineItem/LineItemType": "Usage",
                "lineItem/UsageStartDate": "2023-11-02T00:00:00Z",
                "lineItem/UsageEndDate": "2023-11-02T01:00:00Z",
                "lineItem/CurrencyCode": "USD",
                "lineItem/UnblendedCost": str(i),
                "product/ProductName": f'5" screen {i}' if i % 9 == 0 else f"svc {i}",
            }
        )
        lines.append(",".join(values[name] for name in LEGACY_HEADER))
    path = tmp_path / "stray.csv"
    path.write_text("\n".join(lines) + "\n")
    chunked = read_all(path, 300)
    assert chunked.num_rows == read_all(path, WHOLE).num_rows == 200
    assert chunked.equals(read_all(path, WHOLE))


def test_row_numbers_stay_right_across_chunks_with_multiline_values(legacy_csv: WriteLegacy) -> None:
    rows = [*tricky_rows(2500), {"lineItem/UnblendedCost": "1.0000000000000000001"}]
    with pytest.raises(InvalidNumberError) as caught:
        read_all(legacy_csv(rows), 512)
    assert (caught.value.row, caught.value.column) == (2501, "lineItem/UnblendedCost")


def test_a_malformed_row_is_the_serial_parse_error(tmp_path: Path, legacy_csv: WriteLegacy) -> None:
    source = legacy_csv([{"lineItem/UnblendedCost": f"{i}"} for i in range(500)])
    lines = source.read_bytes().split(b"\r\n")
    lines[321] = lines[321].rsplit(b",", 3)[0]
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\r\n".join(lines))
    for block_size in (300, WHOLE):
        with pytest.raises(CorruptFileError, match="Expected 28 columns, got 25"):
            read_all(broken, block_size)


def test_several_parsers_run_at_once(monkeypatch: pytest.MonkeyPatch, legacy_csv: WriteLegacy) -> None:
    monkeypatch.setattr(readers, "PARSERS", 4)
    path = legacy_csv(tricky_rows(1000))
    assert read_all(path, 1000).equals(read_all(path, WHOLE))


def test_joined_fills_each_read_across_parts() -> None:
    # Arrow takes a short read for a whole block; a part's last bytes alone would make a tiny block.
    stream = Joined([memoryview(b"ab"), memoryview(b""), memoryview(b"cdef"), memoryview(b"g")])
    buffer = bytearray(5)
    assert stream.readinto(buffer) == 5
    assert bytes(buffer) == b"abcde"
    assert stream.readinto(buffer) == 2
    assert bytes(buffer[:2]) == b"fg"
    assert stream.readinto(buffer) == 0


def test_chunks_grow_with_the_file_up_to_the_large_block_size() -> None:
    from cost.readers import BLOCK_SIZE, CHUNKS_PER_FILE, LARGE_BLOCK_SIZE, block_size_for

    assert block_size_for(0) == BLOCK_SIZE
    assert block_size_for(CHUNKS_PER_FILE * BLOCK_SIZE) == BLOCK_SIZE  # a small file keeps every parser busy
    assert block_size_for(CHUNKS_PER_FILE * BLOCK_SIZE * 3) == BLOCK_SIZE * 3
    assert block_size_for(1 << 40) == LARGE_BLOCK_SIZE


def test_a_reader_cuts_a_file_by_its_size_unless_told(legacy_csv: WriteLegacy) -> None:
    from cost.readers import block_size_for

    path = legacy_csv([{"lineItem/UnblendedCost": "1"}])
    assert Reader(str(path)).block_size == block_size_for(path.stat().st_size)
    assert Reader(str(path), block_size=4096).block_size == 4096


def test_chunk_buffers_are_recycled_only_once_nothing_holds_them() -> None:
    from cost.chunks import _Buffers

    buffers = _Buffers(capacity=100, limit=2)
    first = buffers.take(100)
    view = memoryview(first)[:10]  # as the hashing thread or the serial fallback holds one
    del first
    second = buffers.take(50)
    assert second is not view.obj
    del view
    assert buffers.take(100) is buffers._kept[0] is not second  # the free one, again
    assert buffers.take(100) is buffers._kept[0]
    assert len(buffers.take(101)) == 101  # too large for the pool: a buffer of its own
    held = [buffers.take(100), buffers.take(100)]
    assert held[0] is not held[1]  # every kept one is held, and the limit is reached: a fresh one
    assert all(len(b) == 100 for b in held)


def test_split_never_writes_over_a_chunk_still_held() -> None:
    import io

    from cost.chunks import split

    rows = b"".join(b"%d,row\n" % i for i in range(2000))
    stream = io.BytesIO(b"a,b\n" + rows)
    _, chunks = split(stream, stream, size=1024)
    kept = next(chunks).data
    seen = bytes(kept)
    data = [bytes(chunk.data) for chunk in chunks]  # each chunk let go after its copy: its buffer is reused
    assert bytes(kept) == seen
    assert seen + b"".join(data) == rows
