"""Inequality statistics against published reference values.

Where the numbers come from (each test says which it uses):
- [PHE-BW] PHEindicatormethods (ukhsa-collaboration/PHEindicatormethods, commit 093fd28),
  tests/testthat/testdata_Byars_Wilson.xlsx, sheet testdata_B_W: Byar's and Wilson limits.
- [PHE-RATE] same package, tests/testthat/testdata_Rate.xlsx: exact Poisson limits below 10.
- [PHE-SII] same package, tests/testthat/testdata_SII.xlsx: decile inputs (records 1-20, 71-90,
  91-110) and their SII, RII and simulated 95% limits.
- [PHE-FUN] same package, tests/testthat/testdata_funnel_prop_inputs.csv (303 PCTs; we quote
  its average Σx/Σn = 0.8064244785714955 and denominator range 16,386-102,950, and for
  denominators < 31,000 the average 0.8218033787630714 and range 16,386-30,929) and
  testdata_funnel_prop_outputs*.csv (the funnel tables, 6 d.p.).
- [TABLE] standard χ² table values (e.g. Pearson & Hartley's Biometrika Tables).
- [NEWCOMBE] Newcombe RG. Interval estimation for the difference between independent
  proportions. Stat Med 1998;17:873-890, Table II, method 10 (hybrid score).
"""

import math

import numpy as np
import pytest

from dashboards import statistics as st

# --- Wilson, Byar's, exact Poisson -----------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "n", "confidence", "lower", "upper"),
    [
        # [PHE-BW] rows 7-12
        (65, 100, 0.95, 0.552544, 0.736358),
        (1045, 5000, 0.95, 0.197955, 0.220491),
        (0.445, 1, 0.95, 0.043817, 0.933462),
        (65, 100, 0.998, 0.495495, 0.778354),
        (1045, 5000, 0.998, 0.191794, 0.227316),
        (0.445, 1, 0.998, 0.019347, 0.970226),
    ],
)
def test_wilson_interval_matches_phe_reference(x, n, confidence, lower, upper):
    interval = st.wilson_interval(x, n, confidence)
    assert interval.lower == pytest.approx(lower, abs=5e-7)
    assert interval.upper == pytest.approx(upper, abs=5e-7)
    assert interval.method == "Wilson"


def test_wilson_interval_vectorised_and_bounded():
    interval = st.wilson_interval([0, 50, 100], [100, 100, 100])
    assert interval.lower[0] == 0
    assert interval.upper[2] == pytest.approx(1)
    assert np.all(interval.lower <= np.array([0, 0.5, 1])) and np.all(interval.upper >= [0, 0.5, 1])


@pytest.mark.parametrize(("x", "n"), [(-1, 10), (11, 10), (1, 0)])
def test_wilson_interval_rejects_impossible_counts(x, n):
    with pytest.raises(ValueError):
        st.wilson_interval(x, n)


def test_confidence_given_as_percentage_is_rejected():
    with pytest.raises(ValueError, match="fraction"):
        st.wilson_interval(1, 10, 95)


@pytest.mark.parametrize(
    ("x", "confidence", "lower", "upper"),
    [
        # [PHE-BW] rows 1-6
        (65, 0.95, 50.163188, 82.849139),
        (1045, 0.95, 982.593202, 1110.331213),
        (1, 0.95, 0.013072, 5.563756),
        (65, 0.998, 42.880261, 94.000291),
        (1045, 0.998, 947.940704, 1148.806161),
        (10, 0.998, 2.916318, 24.193725),
    ],
)
def test_byars_interval_matches_phe_reference(x, confidence, lower, upper):
    interval = st.byars_interval(x, confidence)
    assert interval.lower == pytest.approx(lower, abs=5e-6)
    assert interval.upper == pytest.approx(upper, abs=5e-6)


def test_byars_lower_limit_is_nan_when_negative():
    # [PHE-BW] row 13: x = 1 at 99.8% has no lower limit, upper 9.362180
    interval = st.byars_interval(1, 0.998)
    assert math.isnan(interval.lower)
    assert interval.upper == pytest.approx(9.362180, abs=5e-6)


@pytest.mark.parametrize(
    ("x", "confidence", "lower", "upper"),
    [
        # [PHE-RATE] Area1 (1 of 100) and Area2 (5 of 100), rate per 100 = the count itself
        (1, 0.95, 0.025318, 5.571643),
        (5, 0.95, 1.623486, 11.668332),
        (1, 0.998, 0.001001, 9.233413),
        (5, 0.998, 0.739372, 16.454745),
    ],
)
def test_exact_poisson_interval_matches_phe_reference(x, confidence, lower, upper):
    interval = st.exact_poisson_interval(x, confidence)
    assert interval.lower == pytest.approx(lower, abs=5e-6)
    assert interval.upper == pytest.approx(upper, abs=5e-6)
    assert interval.method == "Exact"


def test_exact_poisson_interval_for_zero_events_has_zero_lower_limit():
    # Hand-derived: upper = χ²(0.975; 2)/2 = -ln(0.025)
    interval = st.exact_poisson_interval(0)
    assert interval.lower == 0
    assert interval.upper == pytest.approx(-math.log(0.025), rel=1e-12)


def test_count_interval_switches_from_exact_to_byars_at_ten():
    assert st.count_interval(9).method == "Exact"
    assert st.count_interval(10).method == "Byars"


def test_rate_interval_matches_phe_reference_per_100000():
    # [PHE-RATE] testdata_Rate_g Area1 (exact, 2 per 200) and Area7 (Byar's, 444 per 6,430)
    exact = st.rate_interval(2, 200, 0.95, multiplier=100_000)
    assert (exact.lower, exact.upper) == pytest.approx((121.104639, 3612.343834), abs=5e-6)
    byars = st.rate_interval(444, 6430, 0.95, multiplier=100_000)
    assert (byars.lower, byars.upper) == pytest.approx((6277.688114, 7578.304459), abs=5e-6)


@pytest.mark.parametrize(
    ("p", "df", "expected", "tolerance"),
    # [TABLE] χ² quantiles to the tabulated precision
    [
        (0.975, 10, 20.4832, 5e-5),
        (0.95, 100, 124.342, 5e-4),
        (0.5, 1, 0.454936, 5e-7),
        (0.05, 3, 0.351846, 5e-7),
        (0.999, 1, 10.8276, 5e-5),
    ],
)
def test_chi2_ppf_matches_table(p, df, expected, tolerance):
    # tolerance: half a unit in the last tabulated digit
    assert st.chi2_ppf(p, df) == pytest.approx(expected, abs=tolerance)


def test_gamma_ppf_inverts_exponential_exactly():
    # Gamma(1) is the unit exponential: quantile = -ln(1 - p)
    for p in (0.001, 0.3, 0.9, 0.999999):
        assert st.gamma_ppf(p, 1) == pytest.approx(-math.log(1 - p), rel=1e-9)


# --- Funnel plots ----------------------------------------------------------------------------

PHE_FUNNEL_AVERAGE = 0.8064244785714955  # [PHE-FUN] Σx/Σn of the 303 inputs

# [PHE-FUN] testdata_funnel_prop_outputs.csv: Population, Lower 95, Upper 95, Lower 99.8, Upper 99.8
PHE_FUNNEL_ROWS = [
    (1, 3.204264, 100, 0, 100),
    (3, 35.933491, 100, 10.150815, 100),
    (18, 62.390093, 98.894803, 51.864359, 100),
    (41, 68.548635, 92.73626, 61.574398, 99.710497),
    (234, 75.580155, 85.70474, 72.660842, 88.624054),
    (1886, 78.859312, 82.425583, 77.831017, 83.453878),
    (110000, 80.408963, 80.875933, 80.274317, 81.010578),
]

# [PHE-FUN] the first 30 and last 5 denominators of that table
PHE_FUNNEL_DENOMINATORS_HEAD = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 18, 20, 22, 24, 27,
    30, 33, 37, 41, 45, 50, 55, 61, 68, 75,
]  # fmt: skip
PHE_FUNNEL_DENOMINATORS_TAIL = [72486, 80452, 89294, 99108, 110000]


def test_funnel_denominators_match_phe_axis():
    denominators = st.funnel_denominators(16386, 102950)
    assert len(denominators) == 100
    assert denominators[:30] == PHE_FUNNEL_DENOMINATORS_HEAD
    assert denominators[-5:] == PHE_FUNNEL_DENOMINATORS_TAIL


def test_funnel_denominators_start_near_smallest_when_range_is_narrow():
    # [PHE-FUN] outputs_with_axis_variation: denominators < 31,000 -> axis 10,000 to 33,000
    denominators = st.funnel_denominators(16386, 30929)
    assert denominators[:3] == [10000, 10121, 10244]
    assert denominators[49] == 18055
    assert denominators[-1] == 33000


@pytest.mark.parametrize("row", PHE_FUNNEL_ROWS)
def test_funnel_limits_match_phe_reference(row):
    n, *expected = row
    table = st.funnel_limits([n], PHE_FUNNEL_AVERAGE, multiplier=100)
    got = table.loc[0, ["lower_95", "upper_95", "lower_99_8", "upper_99_8"]].tolist()
    assert got == pytest.approx(expected, abs=5e-6)
    assert table.loc[0, "average"] == pytest.approx(80.642448, abs=5e-7)


def test_funnel_limits_match_phe_reference_with_axis_variation():
    # [PHE-FUN] outputs_with_axis_variation rows 1, 50 and 100
    table = st.funnel_limits([10000, 18055, 33000], 0.8218033787630714, multiplier=100)
    expected = [
        [81.43030244, 82.93037332, 80.99777342, 83.36290233],
        [81.62214661, 82.73852914, 81.30024992, 83.06042583],
        [81.76745696, 82.5932188, 81.52935757, 82.83131819],
    ]
    got = table[["lower_95", "upper_95", "lower_99_8", "upper_99_8"]].to_numpy()
    assert got == pytest.approx(np.array(expected), abs=5e-8)


def test_funnel_limits_narrow_as_denominator_grows():
    table = st.funnel_limits([100, 1000, 10000], 0.3, multiplier=1)
    widths = (table.upper_99_8 - table.lower_99_8).to_numpy()
    assert widths[0] > widths[1] > widths[2]
    assert np.all(table.lower_99_8 < table.lower_95) and np.all(table.upper_95 < table.upper_99_8)


# [PHE-FUN] testdata_funnel_prop_inputs.csv: numerator, denominator, significance (6 of 303 rows)
PHE_SIGNIFICANCE = [
    ("New Forest PCT", 35078.4880, 41980, st.FunnelSignificance.HIGH_99_8),
    ("Norwich PCT", 24803.6256, 31824, st.FunnelSignificance.LOW_99_8),
    ("South Gloucestershire PCT", 50050.7443, 61921, st.FunnelSignificance.NOT_SIGNIFICANT),
    ("West Norfolk PCT", 26789.2380, 33012, st.FunnelSignificance.HIGH_95),
    ("North Devon PCT", 30277.5312, 37828, st.FunnelSignificance.LOW_95),
    ("Blackburn with Darwen PCT", 29561.6517, 36627, st.FunnelSignificance.NOT_SIGNIFICANT),
]


def test_funnel_significance_matches_phe_reference():
    x = [row[1] for row in PHE_SIGNIFICANCE]
    n = [row[2] for row in PHE_SIGNIFICANCE]
    got = st.funnel_significance(x, n, average=PHE_FUNNEL_AVERAGE)
    assert got == [row[3] for row in PHE_SIGNIFICANCE]


def test_funnel_significance_defaults_to_pooled_average():
    # Hand-made: pooled average 0.5; 900/1000 is far above, 100/1000 far below, 5/10 central
    got = st.funnel_significance([900, 100, 5], [1000, 1000, 10])
    assert got == [
        st.FunnelSignificance.HIGH_99_8,
        st.FunnelSignificance.LOW_99_8,
        st.FunnelSignificance.NOT_SIGNIFICANT,
    ]


# --- SII / RII -------------------------------------------------------------------------------

# [PHE-SII] records 1-10 (area1) and 11-20 (area2): population, value (life expectancy), SE
LE_AREA1 = {
    "population": [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534],
    "value": [
        75.933459,
        78.344238,
        83.836063,
        83.637540,
        80.465503,
        81.115676,
        81.693084,
        84.190006,
        80.595564,
        86.289435,
    ],
    "se": [
        1.638472,
        1.578193,
        1.513436,
        1.775491,
        1.701339,
        1.564121,
        1.368115,
        1.400142,
        2.432846,
        1.566518,
    ],
}
LE_AREA2 = {
    "population": [21675, 20065, 19750, 24713, 20112, 19618, 22408, 19752, 18939, 19312],
    "value": [
        70.548532,
        71.571557,
        72.486987,
        73.519855,
        73.146054,
        76.158987,
        78.654449,
        80.564770,
        80.854866,
        79.971125,
    ],
    "se": [
        0.229592,
        0.259807,
        0.299238,
        0.160751,
        0.791823,
        0.778320,
        0.399375,
        0.279396,
        0.229592,
        0.351754,
    ],
}
# [PHE-SII] records 71-80 (area1): infant mortality rate per 1,000, SE on the log scale
RATE_AREA1 = {
    "population": [279012, 255993, 236961, 214315, 192812, 183546, 168593, 164822, 154836, 138165],
    "value": [
        5.892220,
        4.734504,
        3.827634,
        3.868138,
        3.677157,
        3.143626,
        3.125871,
        2.942568,
        2.828800,
        2.764810,
    ],
    "se": [
        0.024587,
        0.028652,
        0.033134,
        0.034657,
        0.037477,
        0.041553,
        0.043478,
        0.045325,
        0.047696,
        0.051071,
    ],
}
# [PHE-SII] records 91-100 (area1): child obesity, x of population
PROP_AREA1 = {
    "population": [34353, 32112, 27715, 25372, 23889, 23260, 23180, 24193, 23609, 24488],
    "count": [7287, 6881, 5656, 4868, 4176, 3876, 3617, 3546, 3314, 2960],
    "se": [
        0.013197,
        0.013599,
        0.014903,
        0.015943,
        0.017034,
        0.017594,
        0.018098,
        0.018177,
        0.018734,
        0.019602,
    ],
}


@pytest.mark.parametrize(
    ("data", "value_type", "expected"),
    [
        # sii, rii, sii_lower, sii_upper, rii_lower, rii_upper  [PHE-SII]
        (LE_AREA1, "other", (6.934616, 1.088818, 3.127595, 10.758687, 1.038369, 1.141299)),
        (LE_AREA2, "other", (12.547847, 1.180886, 11.936156, 13.163020, 1.171371, 1.190440)),
        (RATE_AREA1, "rate", (-3.275201, 0.406001, -3.586823, -2.965317, 0.368882, 0.446248)),
    ],
)
def test_sii_matches_phe_reference(data, value_type, expected):
    result = st.slope_index_of_inequality(
        data["value"], data["population"], se=data["se"], value_type=value_type
    )
    sii, rii, sii_lower, sii_upper, rii_lower, rii_upper = expected
    # Point estimates are deterministic: they match to the published 6 decimals.
    assert result.sii == pytest.approx(sii, abs=1e-6)
    assert result.rii == pytest.approx(rii, abs=1e-6)
    # Limits are simulated (100,000 draws; R's generator is not numpy's): they agree to Monte
    # Carlo precision. PHEindicatormethods' own tests allow 5%; we allow 2%.
    assert result.sii_lower == pytest.approx(sii_lower, rel=0.02)
    assert result.sii_upper == pytest.approx(sii_upper, rel=0.02)
    assert result.rii_lower == pytest.approx(rii_lower, rel=0.02)
    assert result.rii_upper == pytest.approx(rii_upper, rel=0.02)


def test_sii_for_proportions_matches_phe_reference():
    # [PHE-SII] records 91 and 111: value_type 2 with SE given, and the same scaled by 100
    data = PROP_AREA1
    values = np.array(data["count"]) / np.array(data["population"])
    result = st.slope_index_of_inequality(values, data["population"], se=data["se"], value_type="proportion")
    assert result.sii == pytest.approx(-0.107200, abs=1e-6)
    assert result.rii == pytest.approx(0.533402, abs=1e-6)
    assert (result.sii_lower, result.sii_upper) == pytest.approx((-0.112209, -0.102180), rel=0.02)
    assert (result.rii_lower, result.rii_upper) == pytest.approx((0.517127, 0.550154), rel=0.02)
    scaled = st.slope_index_of_inequality(
        values, data["population"], se=data["se"], value_type="proportion", multiplier=100
    )
    assert scaled.sii == pytest.approx(-10.720032, abs=1e-5)
    flipped = st.slope_index_of_inequality(
        values, data["population"], se=data["se"], value_type="proportion", multiplier=-100
    )
    # [PHE-SII] record 131: negative multiplier flips SII and inverts RII
    assert flipped.sii == pytest.approx(10.720032, abs=1e-5)
    assert flipped.rii == pytest.approx(1.874760, abs=1e-6)
    assert (flipped.rii_lower, flipped.rii_upper) == pytest.approx((1.817673, 1.933760), rel=0.02)


def test_sii_for_proportions_from_counts_uses_wilson_limits():
    # [PHE-SII] the point estimate depends only on values and populations, so x/n gives it too
    result = st.sii_for_proportions(PROP_AREA1["count"], PROP_AREA1["population"], repetitions=20_000)
    assert result.sii == pytest.approx(-0.107200, abs=1e-6)
    assert result.sii_lower < result.sii < result.sii_upper


def test_sii_simulated_limits_agree_with_exact_normal_limits():
    # For value_type "other" the SII is linear in the values, so its exact 95% interval is
    # SII ± 1.96·√(Σ wᵢ²·seᵢ²) with w the WLS slope weights; the simulation must agree.
    data = LE_AREA1
    a, b = st.relative_ranks(data["population"])
    design = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    weights = np.linalg.solve(design.T @ design, design.T)[1] * np.sqrt(a)
    sd = math.sqrt(float(np.sum(weights**2 * np.square(data["se"]))))
    result = st.slope_index_of_inequality(data["value"], data["population"], se=data["se"])
    z = st.z_for(0.95)
    # Monte Carlo SE of a 2.5% quantile from 100,000 draws is about 0.0085·sd; allow 4 of them.
    assert result.sii_lower == pytest.approx(result.sii - z * sd, abs=4 * 0.0085 * sd)
    assert result.sii_upper == pytest.approx(result.sii + z * sd, abs=4 * 0.0085 * sd)


def test_sii_is_reproducible_with_seed_and_varies_without():
    args = (LE_AREA1["value"], LE_AREA1["population"])
    first = st.slope_index_of_inequality(*args, se=LE_AREA1["se"], seed=7, repetitions=5000)
    again = st.slope_index_of_inequality(*args, se=LE_AREA1["se"], seed=7, repetitions=5000)
    other = st.slope_index_of_inequality(*args, se=LE_AREA1["se"], seed=8, repetitions=5000)
    assert first == again
    assert first.sii_lower != other.sii_lower
    assert first.sii == other.sii


def test_sii_limits_from_confidence_limits_equal_limits_from_se():
    # [PHE-SII] records 1-10 give both the 95% limits and the SE derived from them.
    lower = [72.722053, 75.250980, 80.869730, 80.157578, 77.130879,
             78.049999, 79.011578, 81.445728, 75.827185, 83.219059]  # fmt: skip
    upper = [79.144865, 81.437496, 86.802397, 87.117502, 83.800128,
             84.181353, 84.374589, 86.934284, 85.363943, 89.359811]  # fmt: skip
    from_cl = st.slope_index_of_inequality(
        LE_AREA1["value"], LE_AREA1["population"], lower_cl=lower, upper_cl=upper
    )
    from_se = st.slope_index_of_inequality(LE_AREA1["value"], LE_AREA1["population"], se=LE_AREA1["se"])
    assert from_cl.sii_lower == pytest.approx(from_se.sii_lower, abs=1e-3)
    assert from_cl.sii_upper == pytest.approx(from_se.sii_upper, abs=1e-3)


def test_relative_ranks_are_midpoints_of_cumulative_share():
    # Hand-derived: shares 0.2, 0.3, 0.5 -> midpoints 0.1, 0.35, 0.75
    a, b = st.relative_ranks([20, 30, 50])
    assert a.tolist() == pytest.approx([0.2, 0.3, 0.5])
    assert b.tolist() == pytest.approx([0.1, 0.35, 0.75])


def test_sii_of_a_straight_line_is_its_slope():
    # Hand-derived: equal populations, y = 10 + 20·b exactly -> SII 20, RII (10 + 20) / 10 = 3
    _, b = st.relative_ranks([1] * 5)
    values = 10 + 20 * b
    result = st.slope_index_of_inequality(values, [1] * 5, se=[0] * 5, repetitions=1000)
    assert result.sii == pytest.approx(20)
    assert result.rii == pytest.approx(3)
    assert result.intercept == pytest.approx(10)
    assert result.sii_lower == pytest.approx(20) and result.sii_upper == pytest.approx(20)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"values": [1, 2, 3, 4], "populations": [1, 1, 1, 1], "se": [1] * 4},  # too few quantiles
        {"values": [1, 2, 3, 4, 5], "populations": [1, 1, 0, 1, 1], "se": [1] * 5},  # zero population
        {"values": [1, 2, 3, 4, 5], "populations": [1] * 5},  # no uncertainty given
        {
            "values": [0.1, 0.2, 1.0, 0.3, 0.4],
            "populations": [1] * 5,
            "se": [1] * 5,
            "value_type": "proportion",
        },
    ],
)
def test_sii_rejects_invalid_input(kwargs):
    values, populations = kwargs.pop("values"), kwargs.pop("populations")
    with pytest.raises(ValueError):
        st.slope_index_of_inequality(values, populations, **kwargs)


# --- Quintile gap and ratio ------------------------------------------------------------------


def test_quintile_gap_and_ratio():
    # Hand-derived: Q1 30, Q5 12 -> gap 18, ratio 2.5
    gap = st.quintile_gap([30, 25, 20, 15, 12])
    assert (gap.gap, gap.ratio) == (18, 2.5)
    assert st.quintile_gap([1, 1, 1, 1, 0]).ratio is None
    with pytest.raises(ValueError):
        st.quintile_gap([1, 2, 3])


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "lower", "upper"),
    # [NEWCOMBE] Table II, method 10, examples (a), (b), (c) and (h)
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_newcombe_interval_matches_published_examples(x1, n1, x2, n2, lower, upper):
    assert st.newcombe_difference_interval(x1, n1, x2, n2) == pytest.approx((lower, upper), abs=5e-5)


def test_quintile_gap_for_proportions_has_interval():
    gap = st.quintile_gap_for_proportions([56, 1, 1, 1, 48], [70, 2, 2, 2, 80])
    assert gap.gap == pytest.approx(0.2)
    assert gap.ratio == pytest.approx(0.8 / 0.6)
    assert (gap.gap_lower, gap.gap_upper) == pytest.approx((0.0524, 0.3339), abs=5e-5)
