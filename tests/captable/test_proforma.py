"""Pro-forma rounds: public worked examples, then conversions, pool bases and bad terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from captable.errors import ScenarioError
from captable.events import ConvertibleTerms, ConvertibleType, Issuance, SecurityKind
from captable.proforma import PoolBasis, PoolTopUp, RoundTerms, pro_forma_round
from tests.plugins.ledgers import DAY, company, option, safe, stock, usd

D = Decimal
ROUND = date(2025, 1, 1)


def test_yc_post_money_safe_user_guide_series_a() -> None:
    # Y Combinator, "Post-Money Safe User Guide": 10,000,000 founder shares, safes of $1M and $500k on $10M
    # post-money caps (15 % together) convert into 1,176,470 and 588,235 shares (capitalization 11,764,705);
    # a $15M pre-money round with a 1,695,000-share pool increase prices at $1.1144. (The $5M raised is ours.)
    ledger = company(
        (),
        stock("i-f", "cs-f", "founders", 10_000_000, DAY),
        safe("safe-1", "angel1", "1000000", "10000000"),
        safe("safe-2", "angel2", "500000", "10000000"),
        reserved=0,
    )
    terms = RoundTerms(D(5_000_000), pre_money=D(15_000_000), pool_top_up=PoolTopUp(shares=D(1_695_000)))
    result = pro_forma_round(ledger, ROUND, terms)
    assert [(c.security_id, c.shares, c.capped) for c in result.conversions] == [
        ("safe-1", 1_176_470, True),
        ("safe-2", 588_235, True),
    ]
    assert result.pre_money_fully_diluted == 11_764_705 + 1_695_000
    assert round(result.price_per_share, 4) == D("1.1144")
    assert result.investor_shares == 4_486_568  # $5M / $1.11442…, rounded down
    assert sum(r.shares for r in result.rows) == result.post_money_fully_diluted
    assert abs(sum(r.ownership for r in result.rows) - 1) < D("1e-26")


def test_venture_hacks_option_pool_shuffle() -> None:
    # Venture Hacks, "The Option Pool Shuffle": $8M pre-money, $2M raised, a 20 % post-money pool counted in
    # the pre-money; with 6,000,000 founder shares: 2,000,000 new pool shares, $1.00 a share, 2,000,000 to the
    # investor, founders at 60 % (an effective pre-money of $6M).
    ledger = company((), stock("i-f", "cs-f", "founders", 6_000_000, DAY), reserved=0)
    terms = RoundTerms(D(2_000_000), pre_money=D(8_000_000), pool_top_up=PoolTopUp(target=D("0.2")))
    result = pro_forma_round(ledger, ROUND, terms)
    assert (result.new_pool_shares, result.price_per_share, result.investor_shares) == (2_000_000, 1, 2_000_000)
    by_holder = {r.stakeholder_id: r.ownership for r in result.rows}
    assert by_holder == {"founders": D("0.6"), "NEW_INVESTORS": D("0.2"), None: D("0.2")}
    assert result.post_money == 10_000_000


def test_pre_money_pool_basis_and_a_given_price() -> None:
    ledger = company((), stock("i-f", "cs-f", "founders", 9_000_000, DAY), reserved=0)
    terms = RoundTerms(D(1_000_000), price_per_share=D(1), pool_top_up=PoolTopUp(D("0.1"), PoolBasis.PRE_MONEY))
    result = pro_forma_round(ledger, ROUND, terms)
    assert result.new_pool_shares == 1_000_000  # 10 % of the 10,000,000 pre-money shares
    assert result.pre_money == 10_000_000
    assert result.investor_shares == 1_000_000


def test_existing_pool_counts_towards_the_target() -> None:
    ledger = company((), stock("i-f", "cs-f", "founders", 6_000_000, DAY), option("i-o", "o1", "emp", 500_000, DAY))
    # the plan reserves 10,000,000 of which 500,000 are granted: far above any 20 % target, so no top-up
    result = pro_forma_round(
        ledger, ROUND, RoundTerms(D(1_000_000), pre_money=D(8_000_000), pool_top_up=PoolTopUp(target=D("0.2")))
    )
    assert result.new_pool_shares == 0


def test_discounted_and_pre_money_conversions_and_note_interest() -> None:
    j_kiss = Issuance(
        "i-jk",
        DAY,
        SecurityKind.CONVERTIBLE,
        "jk",
        "angel",
        D(1_000_000),
        price=usd("1000000"),
        convertible_type=ConvertibleType.J_KISS,
        terms=ConvertibleTerms(valuation_cap=D(50_000_000), discount=D("0.2")),
    )
    note = Issuance(
        "i-n",
        DAY,
        SecurityKind.CONVERTIBLE,
        "note",
        "lender",
        D(365_000),
        price=usd("365000"),
        convertible_type=ConvertibleType.NOTE,
        terms=ConvertibleTerms(interest_rate=D("0.1"), discount=D("0.2")),
    )
    ledger = company((), stock("i-f", "cs-f", "founders", 10_000_000, DAY), j_kiss, note, reserved=0)
    result = pro_forma_round(ledger, ROUND, RoundTerms(D(2_000_000), price_per_share=D(2)))
    by_id = {c.security_id: c for c in result.conversions}
    # J-KISS: the discount ($1.60) beats the cap price ($50M / 10,000,000 = $5.00)
    assert (by_id["jk"].price, by_id["jk"].shares, by_id["jk"].capped) == (D("1.6"), 625_000, False)
    # the note: $365,000 + 366 days of 10 % = $401,600 at $1.60
    assert (by_id["note"].amount, by_id["note"].shares) == (D("401600"), 251_000)


def test_bad_terms_name_the_argument() -> None:
    ledger = company((), stock("i-f", "cs-f", "founders", 1, DAY))
    cases = [
        (RoundTerms(D(0), pre_money=D(1)), "new_money"),
        (RoundTerms(D(1)), "pre_money"),
        (RoundTerms(D(1), pre_money=D(1), price_per_share=D(1)), "pre_money"),
        (RoundTerms(D(1), price_per_share=D(-1)), "price_per_share"),
        (RoundTerms(D(1), pre_money=D(1), pool_top_up=PoolTopUp(target=D(1))), "pool_top_up.target"),
        (RoundTerms(D(1), pre_money=D(1), pool_top_up=PoolTopUp(shares=D("0.5"))), "pool_top_up.shares"),
    ]
    for terms, argument in cases:
        with pytest.raises(ScenarioError) as error:
            pro_forma_round(ledger, ROUND, terms)
        assert error.value.argument == argument
