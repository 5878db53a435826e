"""Exit waterfalls: worked examples from public explainers, then the engine's rules one by one."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from captable.errors import ScenarioError
from captable.events import (
    ConvertibleType,
    StockClass,
)
from captable.ledger import Ledger
from captable.vesting import monthly_with_cliff
from captable.waterfall import Assumptions, ClassTerms, ConvertibleTreatment, Decision, exit_waterfall
from tests.plugins.ledgers import DAY, EXIT, company, option, preferred, safe, stock, usd

D = Decimal


def sixth(investor_class: StockClass) -> Ledger:
    """$500,000 for 1/6 of the company: 1,000,000 shares at $0.50 next to 5,000,000 founder shares."""
    return company(
        (investor_class,),
        stock("i-f", "cs-f", "founders", 5_000_000, DAY),
        stock("i-i", "ps-i", "investor", 1_000_000, DAY, stock_class=investor_class.id, price="0.50"),
    )


def paid(ledger: Ledger, exit_value: str, assumptions: Assumptions | None = None) -> dict[str, Decimal]:
    result = exit_waterfall(ledger, D(exit_value), EXIT, assumptions)
    assert sum(result.by_holder().values()) + result.unallocated == D(exit_value)
    return result.by_holder()


# VentureSouth, "Back to basics: liquidation preferences pop quiz" (venturesouth.vc/blog/liquidation-preference-quiz):
# $500,000 invested to own 1/6 of a company. The figures are the quiz's four questions, answered to the cent.


def test_venturesouth_1x_non_participating_converts_at_10m() -> None:
    result = exit_waterfall(sixth(preferred("A", "0.50")), D(10_000_000), EXIT)
    assert result.by_holder() == {"investor": D("1666666.67"), "founders": D("8333333.33")}
    assert [c.decision for c in result.classes if c.source_id == "A"] == [Decision.CONVERTS]


def test_venturesouth_2x_participating_at_10m() -> None:
    terms = Assumptions(participation={"A": ClassTerms(participating=True)})
    assert paid(sixth(preferred("A", "0.50", multiple="2")), "10000000", terms) == {
        "investor": D("2500000.00"),  # $1M preference + 1/6 of the remaining $9M
        "founders": D("7500000.00"),
    }


def test_venturesouth_4x_non_participating_at_1_75m_takes_everything() -> None:
    result = exit_waterfall(sixth(preferred("A", "0.50", multiple="4")), D(1_750_000), EXIT)
    assert result.by_holder() == {"investor": D("1750000.00"), "founders": D("0.00")}
    assert [c.decision for c in result.classes if c.source_id == "A"] == [Decision.PREFERENCE]


def test_venturesouth_no_preference_fire_sale_at_1m() -> None:
    no_preference = StockClass("A", "A", "PREFERRED", None, price_per_share=usd("0.50"))
    assert paid(sixth(no_preference), "1000000") == {"investor": D("166666.67"), "founders": D("833333.33")}


def test_participating_preferred_explainer_2m_for_25_percent_at_10m() -> None:
    # "Participating Preferred" (jmfg.ca/psychology/money-strategies/tactics/participating-preferred): $2M for
    # 25 %, 1x participating; on a $10M exit the investor gets $2M + 25 % of $8M = $4M, the founder $6M.
    ledger = company(
        (preferred("A", "2.00"),),
        stock("i-f", "cs-f", "founder", 3_000_000, DAY),
        stock("i-i", "ps-i", "investor", 1_000_000, DAY, stock_class="A", price="2.00"),
    )
    terms = Assumptions(participation={"A": ClassTerms(participating=True)})
    assert paid(ledger, "10000000", terms) == {"investor": D("4000000.00"), "founder": D("6000000.00")}


def test_ledgy_challenge_1x_non_participating_at_3m() -> None:
    # Ledgy's liquidation-preference challenge, as quoted in github.com/metju90/capitalization-table: an investor
    # buys 20 % for $1m with a 1x non-participating preference; sold for $3m, the investor receives $1m and the
    # remaining $2m goes to the others (converting would give only 20 % of $3m = $600k).
    ledger = company(
        (preferred("A", "1.00"),),
        stock("i-f", "cs-f", "founders", 4_000_000, DAY),
        stock("i-i", "ps-i", "investor", 1_000_000, DAY, stock_class="A", price="1.00"),
    )
    assert paid(ledger, "3000000") == {"investor": D("1000000.00"), "founders": D("2000000.00")}


# ---- the engine's rules ----


def stack(seniority_b: str) -> Ledger:
    return company(
        (preferred("A", "1.00"), preferred("B", "2.00", seniority=seniority_b)),
        stock("i-f", "cs-f", "founders", 4_000_000, DAY),
        stock("i-a", "ps-a", "angel", 1_000_000, DAY, stock_class="A", price="1.00"),
        stock("i-b", "ps-b", "fund", 1_000_000, DAY, stock_class="B", price="2.00"),
    )


def test_stacked_senior_class_is_paid_in_full_first() -> None:
    assert paid(stack("2"), "2500000") == {"fund": D("2000000.00"), "angel": D("500000.00"), "founders": D("0.00")}


def test_pari_passu_shares_pro_rata_to_the_preference() -> None:
    # $3M of claims ($1M A, $2M B) on one level; $1.5M pays each half its claim
    assert paid(stack("1"), "1500000") == {"fund": D("1000000.00"), "angel": D("500000.00"), "founders": D("0.00")}


def test_capped_participation_stops_at_the_cap_then_converts_when_better() -> None:
    ledger = company(
        (preferred("A", "1.00", cap="2"),),
        stock("i-f", "cs-f", "founders", 3_000_000, DAY),
        stock("i-i", "ps-i", "investor", 1_000_000, DAY, stock_class="A", price="1.00"),
    )
    # $5M: $1M preference + 1/4 of $4M = $2M, exactly the 2x cap
    assert paid(ledger, "5000000")["investor"] == D("2000000.00")
    # $6M: capped at $2M; converting gives 1/4 of $6M = $1.5M: stays capped
    capped = exit_waterfall(ledger, D(6_000_000), EXIT)
    assert capped.by_holder()["investor"] == D("2000000.00")
    assert [(c.decision, c.capped) for c in capped.classes if c.source_id == "A"] == [(Decision.PARTICIPATES, True)]
    # $10M: converting gives $2.5M, more than the $2M cap
    converted = exit_waterfall(ledger, D(10_000_000), EXIT)
    assert converted.by_holder()["investor"] == D("2500000.00")
    assert [c.decision for c in converted.classes if c.source_id == "A"] == [Decision.CONVERTS]


def test_options_in_the_money_are_exercised_net_of_the_strike() -> None:
    ledger = company(
        (),
        stock("i-f", "cs-f", "founders", 900_000, DAY),
        option("i-o", "opt-1", "emp", 100_000, DAY),  # strike $0.10
    )
    # P = (1,000,000 + 100,000 x 0.10) / 1,000,000 = 1.01; the employee gets 100,000 x (1.01 - 0.10)
    result = exit_waterfall(ledger, D(1_000_000), EXIT)
    assert result.common_price == D("1.01")
    assert result.by_holder() == {"founders": D("909000.00"), "emp": D("91000.00")}
    below = exit_waterfall(ledger, D(50_000), EXIT)  # P would be 0.06 < 0.10: the option lapses
    assert below.by_holder() == {"founders": D("50000.00"), "emp": D("0.00")}
    assert [c.decision for c in below.classes if c.source_id == "opt-1"] == [Decision.LAPSES]


def test_post_money_safe_takes_the_greater_of_cash_out_and_conversion() -> None:
    ledger = company(
        (), stock("i-f", "cs-f", "founders", 9_000_000, DAY), safe("safe-1", "angel", "1000000", "10000000")
    )
    # the safe owns 10 % at its cap: 1,000,000 of 10,000,000 shares
    low = exit_waterfall(ledger, D(5_000_000), EXIT)
    assert low.by_holder() == {"angel": D("1000000.00"), "founders": D("4000000.00")}
    assert [c.decision for c in low.classes if c.source_id == "safe-1"] == [Decision.CASH_OUT]
    high = exit_waterfall(ledger, D(50_000_000), EXIT)
    assert high.by_holder() == {"angel": D("5000000.00"), "founders": D("45000000.00")}
    forced = exit_waterfall(ledger, D(5_000_000), EXIT, Assumptions(convertibles=ConvertibleTreatment.CONVERT))
    assert forced.by_holder()["angel"] == D("500000.00")


def test_a_note_is_debt_senior_to_preferred_with_interest_to_the_exit() -> None:
    ledger = company(
        (preferred("A", "1.00"),),
        stock("i-a", "ps-a", "fund", 1_000_000, DAY, stock_class="A", price="1.00"),
        safe("note-1", "lender", "365000", None, kind=ConvertibleType.NOTE, post_money=False, interest="0.10"),
    )
    # 366 days at 10 % on $365,000 = $36,600 interest; the note takes $401,600 before the preferred
    assert paid(ledger, "1000000") == {"lender": D("401600.00"), "fund": D("598400.00")}


def test_rounding_leaves_no_cent_behind_and_is_deterministic() -> None:
    ledger = company((), *(stock(f"i{n}", f"s{n}", f"h{n}", 1, DAY) for n in range(3)))
    result = exit_waterfall(ledger, D("100.00"), EXIT)
    assert sorted(result.by_holder().values()) == [D("33.33"), D("33.33"), D("33.34")]
    assert result.by_holder()["h0"] == D("33.34")  # ties go to the first holder id
    yen = exit_waterfall(ledger, D(100), EXIT, minor_digits=0)
    assert sum(yen.by_holder().values()) == 100


def test_bad_exit_values_name_the_argument() -> None:
    ledger = company((), stock("i-f", "cs-f", "founders", 1, DAY))
    with pytest.raises(ScenarioError) as negative:
        exit_waterfall(ledger, D(-1), EXIT)
    assert negative.value.argument == "exit_value"
    with pytest.raises(ScenarioError, match="decimal places"):
        exit_waterfall(ledger, D("1.001"), EXIT)


def test_unvested_options_count_only_when_assumed() -> None:
    grant = replace(option("i-o", "opt-1", "emp", 480_000, DAY), vesting_terms_id="4y")
    base = company((), stock("i-f", "cs-f", "founders", 520_000, DAY), grant)
    ledger = replace(base, vesting_terms=(monthly_with_cliff("4y"),))
    everything = exit_waterfall(ledger, D(1_000_000), EXIT)
    vested_only = exit_waterfall(ledger, D(1_000_000), EXIT, Assumptions(unvested_awards=False))
    # one year in: 12/48 of 480,000 = 120,000 vested
    assert [c.shares for c in vested_only.classes if c.source_id == "opt-1"] == [120_000]
    assert everything.by_holder()["emp"] > vested_only.by_holder()["emp"] > 0


def test_j_kiss_converts_at_its_cap_on_the_pre_exit_capitalization() -> None:
    j_kiss = safe("jk", "angel", "1000000", "9000000", kind=ConvertibleType.J_KISS, post_money=False)
    ledger = company((), stock("i-f", "cs-f", "founders", 9_000_000, DAY), j_kiss, reserved=0)
    # $1M x 9,000,000 / $9M = 1,000,000 shares: at $100M it converts into 1/10 of the company
    result = exit_waterfall(ledger, D(100_000_000), EXIT)
    assert result.by_holder()["angel"] == D(10_000_000)
    assert exit_waterfall(ledger, D(5_000_000), EXIT).by_holder()["angel"] == D(1_000_000)  # cash-out


def test_a_lone_preferred_class_converts_rather_than_leave_money_unallocated() -> None:
    ledger = company((preferred("A", "1.00"),), stock("i-a", "ps-a", "fund", 1_000_000, DAY, stock_class="A"))
    result = exit_waterfall(ledger, D(5_000_000), EXIT)
    assert (result.by_holder(), result.unallocated) == ({"fund": D(5_000_000)}, 0)
