from __future__ import annotations

import pytest

from cost.errors import UnknownFormatError
from cost.formats import REQUIRED, Format, detect


@pytest.mark.parametrize("fmt", list(Format))
def test_required_columns_identify_each_format(fmt: Format) -> None:
    assert detect([*sorted(REQUIRED[fmt]), "extra/Column"], file="f.csv") is fmt


def test_focus_versions_share_one_format() -> None:
    focus_12 = [
        *REQUIRED[Format.FOCUS],
        "BillingAccountType",
        "InvoiceId",
        "PricingCurrency",
        "ServiceSubcategory",
    ]
    assert detect(focus_12, file="f.csv") is Format.FOCUS


def test_unknown_header_names_the_file() -> None:
    with pytest.raises(UnknownFormatError) as caught:
        detect(["a", "b"], file="s3://bucket/x.csv")
    assert caught.value.file == "s3://bucket/x.csv"
    expected = "s3://bucket/x.csv: not a recognised billing file (CUR, CUR 2.0 or FOCUS header expected)"
    assert str(caught.value) == expected


def test_an_unrecognised_header_is_not_quoted() -> None:
    with pytest.raises(UnknownFormatError) as caught:
        detect(["JWT_SECRET=hunter2", "password"], file="f.csv")
    assert "hunter2" not in str(caught.value)
    assert "password" not in str(caught.value)
