"""Exact text → decimal conversion, vectorised.

Arrow's own ``cast(string → decimal128)`` parses exponent notation (``9.984E-7``, ``1.2e+3``) exactly, in
integer arithmetic, and refuses to rescale when digits would be lost or the value overflows the precision;
it never goes through binary floating point. It is used as the hot path (~60 ns a value). Arrow only says
*that* a value failed, so on failure the batch is scanned again with :class:`decimal.Decimal` to name the
first offending row; that slow path runs only when the import is already failing.

Double columns (CUR 2.0 Parquet) are converted through their shortest round-trip text, i.e. the decimal the
exporter wrote, never by scaling the binary value.
"""

from __future__ import annotations

import decimal

import pyarrow as pa
import pyarrow.compute as pc

from cost.columns import MONEY
from cost.errors import InvalidNumberError

_CONTEXT = decimal.Context(prec=200, traps=[decimal.InvalidOperation])


def to_money(values: pa.Array, *, file: str, column: str, first_row: int) -> pa.Array:
    """Convert text (or numbers) to ``MONEY`` exactly; ``first_row`` is the 1-based row of ``values[0]``."""
    if values.type == MONEY:
        return values
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), MONEY)
    if pa.types.is_floating(values.type):
        # CUR 2.0 Parquet stores money as double: the exporter had a decimal and stored its nearest double;
        # the shortest text that round-trips to that double (what Arrow's cast writes) is that decimal.
        values = pc.cast(values, pa.string())
    try:
        return pc.cast(values, MONEY)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        row, reason = _locate(values)
        if row is None:
            raise InvalidNumberError(file, str(exc), column=column) from exc
        raise InvalidNumberError(file, reason, row=first_row + row, column=column) from exc


def parse_exact(text: str) -> decimal.Decimal:
    """Parse one number the way :func:`to_money` does, or raise ``ValueError`` saying why."""
    try:
        value = _CONTEXT.create_decimal(text)
    except decimal.InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -MONEY.scale and value != value.quantize(decimal.Decimal(1).scaleb(-MONEY.scale), context=_CONTEXT):
        raise ValueError(f"{text!r} has more than {MONEY.scale} fractional digits; refusing to round it")
    if abs(value) >= decimal.Decimal(10) ** (MONEY.precision - MONEY.scale):
        raise ValueError(f"{text!r} does not fit in {MONEY.precision - MONEY.scale} integer digits")
    return value


def _locate(values: pa.Array) -> tuple[int | None, str]:
    for index, item in enumerate(values.to_pylist()):
        if item is None:
            continue
        try:
            parse_exact(str(item))
        except ValueError as exc:
            return index, str(exc)
    return None, ""
