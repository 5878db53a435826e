"""Which billing export a file is, decided from its header (column names) alone."""

from __future__ import annotations

import enum
from collections.abc import Collection

from cost.errors import UnknownFormatError


class Format(enum.StrEnum):
    LEGACY_CUR = "legacy-cur"
    CUR2 = "cur-2.0"
    FOCUS = "focus-1.x"


# The columns without which a format cannot be normalised; everything else is optional and becomes null.
REQUIRED: dict[Format, frozenset[str]] = {
    Format.LEGACY_CUR: frozenset(
        {
            "lineItem/UnblendedCost",
            "lineItem/UsageAccountId",
            "bill/BillingPeriodStartDate",
            "lineItem/LineItemType",
        }
    ),
    Format.CUR2: frozenset(
        {
            "line_item_unblended_cost",
            "line_item_usage_account_id",
            "bill_billing_period_start_date",
            "line_item_line_item_type",
        }
    ),
    Format.FOCUS: frozenset({"BilledCost", "EffectiveCost", "BillingPeriodStart", "ChargeCategory", "BillingCurrency"}),
}
# Columns (prefixes) that identify a format even when a required one is missing, to give a precise error
# (a FOCUS file without BilledCost still names BilledCost as missing).
_MARKERS: dict[Format, tuple[str, ...]] = {
    Format.LEGACY_CUR: ("lineItem/",),
    Format.CUR2: ("line_item_",),
    Format.FOCUS: ("BilledCost", "EffectiveCost", "ChargeCategory", "BillingPeriodStart"),
}


NOT_A_BILLING_FILE = "not a recognised billing file (CUR, CUR 2.0 or FOCUS header expected)"


def detect(header: Collection[str], *, file: str) -> Format:
    """Return the format of a file from its column names or raise :class:`UnknownFormatError`."""
    names = set(header)
    for fmt, required in REQUIRED.items():
        if required <= names:
            return fmt
    for fmt, markers in _MARKERS.items():
        if any(name.startswith(marker) for name in names for marker in markers):
            missing = sorted(REQUIRED[fmt] - names)
            raise UnknownFormatError(
                file, f"header looks like {fmt.value} but lacks required column(s) {', '.join(missing)}"
            )
    # Nothing of the header is quoted: an unrecognised file may be anything (a secret, a server's answer).
    raise UnknownFormatError(file, NOT_A_BILLING_FILE)
