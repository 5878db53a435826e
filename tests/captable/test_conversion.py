from decimal import Decimal

from captable.conversion import convert, post_money_safe_shares, priced_round

D = Decimal


def test_jkiss_discount_conversion() -> None:
    # J-KISS (Coral Capital, https://coralcap.co/j-kiss/): conversion price = the lower of the next round's
    # price x (1 - discount) and the cap price. ¥10,000,000 at a ¥1,000 round price with a 20 % discount,
    # the cap (¥2,000,000,000 on 1,000,000 shares = ¥2,000 a share) not binding: ¥800 and 12,500 shares.
    result = convert(
        D(10_000_000),
        D(1_000),
        discount=D("0.2"),
        valuation_cap=D(2_000_000_000),
        fully_diluted_shares=D(1_000_000),
    )
    assert result.price == 800
    assert result.shares == 12_500
    assert not result.capped


def test_cap_binds_when_cheaper_than_discount() -> None:
    result = convert(
        D(10_000_000),
        D(1_000),
        discount=D("0.2"),
        valuation_cap=D(500_000_000),
        fully_diluted_shares=D(1_000_000),
    )
    assert (result.price, result.shares, result.capped) == (500, 20_000, True)


def test_post_money_safe_yc_user_guide() -> None:
    # Y Combinator, "Post-Money Safe User Guide" (https://www.ycombinator.com/documents): a $100,000 safe
    # on a $10M post-money cap owns $100k / $10M = 1 % of the capitalization as of just before the round.
    (one,) = post_money_safe_shares([(D(100_000), D(10_000_000))], D(9_900_000))
    assert one == 100_000
    assert one / (D(9_900_000) + one) == D("0.01")
    # The guide's Series A example: safes owning 15 % together (here $1M and $500k on $10M post-money caps)
    # on 10,000,000 founder shares give a 11,764,705-share capitalization; a $15M pre-money round with a
    # 1,695,000-share pool increase prices at $15,000,000 / (11,764,705 + 1,695,000) = $1.1144.
    shares = post_money_safe_shares([(D(1_000_000), D(10_000_000)), (D(500_000), D(10_000_000))], D(10_000_000))
    assert shares == [1_176_470, 588_235]
    capitalization = D(10_000_000) + sum(shares)
    assert capitalization == 11_764_705
    assert round(D(15_000_000) / (capitalization + 1_695_000), 4) == D("1.1144")


def test_option_pool_shuffle() -> None:
    # Venture Hacks, "The Option Pool Shuffle" (https://venturehacks.com/option-pool-shuffle): $8M pre-money,
    # $2M raised, a pool of 20 % post-money counted in the pre-money. With 6,000,000 founder shares the new
    # pool is 2,000,000, the price $8M / 8,000,000 = $1.00, the investor gets 2,000,000 of 10,000,000 shares:
    # founders go from 100 % to 60 %, i.e. an effective pre-money of $6M.
    result = priced_round(D(8_000_000), D(2_000_000), D(6_000_000), D("0.2"))
    assert result.new_pool_shares == 2_000_000
    assert result.price_per_share == 1
    assert result.investor_shares == 2_000_000
    assert result.post_money_fully_diluted == 10_000_000
    assert D(6_000_000) / result.post_money_fully_diluted * D(10_000_000) == 6_000_000
