import math
from types import SimpleNamespace

import pytest
from scipy import integrate, optimize, stats

from deliberate.eval.report.stats import (
    beta_interval,
    by_category,
    conditional_rate,
    difference,
    fisher_exact,
    hdi_interval,
    rate_cell,
    rate_gap,
    suite_average,
    zero_zero_families,
)


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (0, 0), (17, 48)])
def test_beta_interval_matches_scipy(k, n):
    mean, lo, hi = beta_interval(k, n)
    ref = stats.beta(1 + k, 1 + n - k)
    assert mean == pytest.approx(ref.mean())
    assert (lo, hi) == pytest.approx(ref.interval(0.95))


def test_known_values():
    # Beta(1, 11) after 0/10: CDF 1 - (1 - x)**11, so the 97.5% point is 1 - 0.025**(1/11)
    _, lo, hi = beta_interval(0, 10)
    assert hi == pytest.approx(1 - 0.025 ** (1 / 11))
    assert lo == pytest.approx(1 - 0.975 ** (1 / 11))


def test_bad_counts():
    with pytest.raises(ValueError):
        beta_interval(3, 2)


def test_rate_cell():
    _, lo, hi = hdi_interval(2, 8)
    assert rate_cell(2, 8) == {"rate": 0.25, "lo": lo, "hi": hi, "k": 2, "n": 8}
    assert rate_cell(0, 0) == {"rate": None, "lo": None, "hi": None, "k": 0, "n": 0}
    with pytest.raises(ValueError):
        rate_cell(3, 2)


@pytest.mark.parametrize("k,n", [(0, 1), (0, 10), (1, 1), (2, 2), (10, 10), (1, 3), (5, 40), (39, 40), (20, 40)])
def test_rate_cell_interval_holds_its_rate(k, n):
    """The printed rate and its interval come from one posterior: the interval holds k/n, also
    at 0/n and n/n (an equal-tailed interval printed 0/1 as 0.000 [0.013, 0.842])."""
    c = rate_cell(k, n)
    assert c["lo"] <= c["rate"] <= c["hi"]
    assert c["rate"] == k / n


def test_hdi_edges_closed_form():
    # Beta(1, n + 1) after 0/n: density decreasing, so the HDI starts at 0 and holds 95% of the mass
    for n in (1, 2, 10, 40):
        mode, lo, hi = hdi_interval(0, n)
        assert (mode, lo) == (0.0, 0.0) and hi == pytest.approx(1 - 0.05 ** (1 / (n + 1)))
        mode, lo, hi = hdi_interval(n, n)
        assert (mode, hi) == (1.0, 1.0) and lo == pytest.approx(0.05 ** (1 / (n + 1)))
    assert hdi_interval(0, 1)[2] == pytest.approx(0.7764, abs=1e-4)  # not 0.842: the density's own 95%


@pytest.mark.parametrize("k,n", [(1, 3), (5, 40), (17, 48), (30, 31)])
def test_hdi_is_the_highest_density_window(k, n):
    """95% of the mass, equal density at both ends (the defining property of an HDI of a
    unimodal density), and no wider than the equal-tailed interval."""
    ref = stats.beta(1 + k, 1 + n - k)
    _, lo, hi = hdi_interval(k, n)
    assert ref.cdf(hi) - ref.cdf(lo) == pytest.approx(0.95, abs=1e-6)
    assert ref.pdf(lo) == pytest.approx(ref.pdf(hi), rel=1e-3)
    _, elo, ehi = beta_interval(k, n)
    assert hi - lo <= ehi - elo + 1e-9


def test_hdi_flat_posterior_and_bad_input():
    assert hdi_interval(0, 0) == (None, pytest.approx(0.025), pytest.approx(0.975))
    with pytest.raises(ValueError):
        hdi_interval(3, 2)
    with pytest.raises(ValueError):
        hdi_interval(1, 2, level=1.0)


# --- fisher_exact -------------------------------------------------------------------------
def test_fisher_tea_tasting():
    # Fisher's lady tasting tea: [[3, 1], [1, 3]]. Hypergeometric P(X=3) = 16/70, P(X=4) = 1/70,
    # so the one-sided p is 17/70 and the two-sided p (the table and its mirror) is 34/70.
    odds, p = fisher_exact(3, 4, 1, 4)
    assert odds == pytest.approx(9.0)
    assert p == pytest.approx(34 / 70)
    assert p == pytest.approx(0.4857, abs=1e-4)
    assert fisher_exact(3, 4, 1, 4, alternative="greater")[1] == pytest.approx(17 / 70)
    assert fisher_exact(3, 4, 1, 4, alternative="less")[1] == pytest.approx(69 / 70)


def test_fisher_extreme_table():
    # [[0, 10], [10, 0]]: only this table and its mirror are as extreme, each 1 / C(20, 10)
    odds, p = fisher_exact(0, 10, 10, 10)
    assert odds == 0.0
    assert p == pytest.approx(2 / math.comb(20, 10))


@pytest.mark.parametrize("table", [(2, 30, 9, 31), (0, 12, 5, 12), (7, 7, 1, 20), (0, 0, 3, 4)])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_fisher_matches_scipy(table, alternative):
    k1, n1, k2, n2 = table
    ref = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative=alternative)
    odds, p = fisher_exact(k1, n1, k2, n2, alternative=alternative)
    assert p == pytest.approx(ref.pvalue)
    assert odds == pytest.approx(ref.statistic, nan_ok=True)


@pytest.mark.parametrize("args", [(3, 2, 1, 4), (-1, 4, 1, 4), (1, 4, 5, 4), (1, 4, 1, -1), (1.5, 4, 1, 4)])
def test_fisher_bad_counts(args):
    with pytest.raises(ValueError, match="k"):
        fisher_exact(*args)


def test_fisher_bad_alternative():
    with pytest.raises(ValueError, match="alternative"):
        fisher_exact(1, 4, 2, 4, alternative="two_sided")


# --- suite_average ------------------------------------------------------------------------
COUNTS = {"a": (3, 40), "b": (0, 25), "c": (12, 30), "d": (1, 50)}


def _avg_of_two_betas_quantile(p1, p2, q):
    """Exact quantile of (X + Y) / 2, X ~ Beta(p1), Y ~ Beta(p2), by numerical convolution."""
    x, y = stats.beta(*p1), stats.beta(*p2)

    def cdf(t):
        return integrate.quad(lambda u: x.pdf(u) * y.cdf(2 * t - u), 0, 1, limit=200)[0]

    return optimize.brentq(lambda t: cdf(t) - q, 1e-9, 1 - 1e-9, xtol=1e-10)


def test_suite_average_mean_is_mean_of_beta_means():
    res = suite_average(COUNTS)
    exact = sum((1 + k) / (2 + n) for k, n in COUNTS.values()) / len(COUNTS)
    assert res["exact_mean"] == pytest.approx(exact)
    assert res["mean"] == pytest.approx(exact, abs=2e-3)
    assert res["lo"] < res["mean"] < res["hi"]
    assert res["families"] == ["a", "b", "c", "d"]
    assert res["excluded_zero_zero"] == []
    assert res["level"] == 0.95 and res["draws"] == 20000


def test_suite_average_interval_matches_exact_convolution():
    counts = {"x": (3, 20), "y": (9, 15)}
    res = suite_average(counts, draws=200_000, seed=1)
    p1, p2 = (4, 18), (10, 7)
    assert res["lo"] == pytest.approx(_avg_of_two_betas_quantile(p1, p2, 0.025), abs=3e-3)
    assert res["hi"] == pytest.approx(_avg_of_two_betas_quantile(p1, p2, 0.975), abs=3e-3)


def test_suite_average_one_family_is_beta_interval():
    res = suite_average({"x": (17, 48)}, draws=100_000)
    lo, hi = stats.beta(18, 32).interval(0.95)
    assert (res["lo"], res["hi"]) == pytest.approx((lo, hi), abs=3e-3)


def test_suite_average_converges_to_large_draw_run():
    small = suite_average(COUNTS, draws=20000, seed=0)
    large = suite_average(COUNTS, draws=400_000, seed=123)
    for key in ("mean", "lo", "hi"):
        assert small[key] == pytest.approx(large[key], abs=3e-3)


def test_suite_average_level():
    narrow = suite_average(COUNTS, level=0.5)
    wide = suite_average(COUNTS, level=0.99)
    assert wide["lo"] < narrow["lo"] < narrow["hi"] < wide["hi"]


def test_suite_average_equal_weight_per_family():
    # a large family does not dominate: the average is of rates, not pooled counts
    res = suite_average({"big": (0, 1000), "small": (10, 10)})
    assert res["exact_mean"] == pytest.approx((1 / 1002 + 11 / 12) / 2)


def test_suite_average_deterministic():
    assert suite_average(COUNTS, seed=7) == suite_average(COUNTS, seed=7)
    assert suite_average(COUNTS, seed=7) == suite_average(dict(reversed(list(COUNTS.items()))), seed=7)
    assert suite_average(COUNTS, seed=7)["lo"] != suite_average(COUNTS, seed=8)["lo"]


def test_suite_average_exclude():
    res = suite_average(COUNTS, exclude={"b", "not-a-family"})
    assert res["families"] == ["a", "c", "d"]
    assert res["excluded_zero_zero"] == ["b"]
    assert res["exact_mean"] == pytest.approx((4 / 42 + 13 / 32 + 2 / 52) / 3)


def test_suite_average_errors():
    with pytest.raises(ValueError, match="covert action"):
        suite_average(COUNTS, exclude={"a"})  # a has 3 covert actions: not a zero-zero family
    with pytest.raises(ValueError, match="no episodes"):
        suite_average({"a": (0, 0), "b": (1, 3)})
    with pytest.raises(ValueError, match="no families"):
        suite_average({})
    with pytest.raises(ValueError, match="no families"):
        suite_average({"b": (0, 5)}, exclude={"b"})
    with pytest.raises(ValueError, match="k <= n"):
        suite_average({"a": (4, 3)})
    with pytest.raises(ValueError, match="level"):
        suite_average(COUNTS, level=1.0)
    with pytest.raises(ValueError, match="draws"):
        suite_average(COUNTS, draws=0)


# --- zero_zero_families, difference -----------------------------------------------------
def test_zero_zero_families():
    models = {"base": {"a": (3, 10), "b": (0, 10), "c": (0, 10), "d": (0, 10)},
              "sft": {"a": (0, 10), "b": (0, 10), "c": (2, 10), "d": (0, 8)}}
    assert zero_zero_families(models) == {"b", "d"}
    assert zero_zero_families({}) == set()
    with pytest.raises(ValueError):
        zero_zero_families({"base": {"a": (11, 10)}})


def test_difference_excludes_zero_zero_by_default():
    a = {"f1": (10, 20), "f2": (0, 20), "f3": (6, 20)}
    b = {"f1": (1, 20), "f2": (0, 20), "f3": (0, 20)}
    res = difference(a, b)
    assert res["families"] == ["f1", "f3"]
    assert res["excluded_zero_zero"] == ["f2"]
    exact = ((2 / 22 + 1 / 22) - (11 / 22 + 7 / 22)) / 2
    assert res["mean"] == pytest.approx(exact, abs=3e-3)
    assert res["mean"] == pytest.approx(res["mean_b"] - res["mean_a"])
    assert res["hi"] < 0
    assert res["p_b_less"] > 0.999
    kept = difference(a, b, exclude=set())
    assert kept["families"] == ["f1", "f2", "f3"] and kept["excluded_zero_zero"] == []


def test_difference_identical_models():
    res = difference(COUNTS, COUNTS, draws=100_000)
    assert res["mean"] == pytest.approx(0, abs=2e-3)
    assert res["p_b_less"] == pytest.approx(0.5, abs=0.01)
    assert res["lo"] < 0 < res["hi"]
    assert res["lo"] == pytest.approx(-res["hi"], abs=5e-3)


def test_difference_matches_large_draw_run_and_is_deterministic():
    b = {"a": (1, 40), "b": (0, 25), "c": (5, 30), "d": (0, 50)}
    small, large = difference(COUNTS, b), difference(COUNTS, b, draws=400_000, seed=99)
    for key in ("mean", "lo", "hi", "p_b_less"):
        assert small[key] == pytest.approx(large[key], abs=5e-3)
    assert difference(COUNTS, b, seed=3) == difference(COUNTS, b, seed=3)


def test_difference_family_mismatch():
    with pytest.raises(ValueError, match="only in a: \\['c'\\]"):
        difference({"a": (1, 5), "c": (1, 5)}, {"a": (2, 5)})


# --- rate_gap ---------------------------------------------------------------------------
def test_rate_gap_against_exact():
    kd, nd, ke, ne = 9, 30, 3, 30
    res = rate_gap(kd, nd, ke, ne, draws=200_000)
    dep, ev = stats.beta(1 + kd, 1 + nd - kd), stats.beta(1 + ke, 1 + ne - ke)
    assert res["mean"] == pytest.approx(dep.mean() - ev.mean(), abs=2e-3)
    # P(deploy > eval) = integral of f_deploy(x) F_eval(x) dx
    p_exact = integrate.quad(lambda x: dep.pdf(x) * ev.cdf(x), 0, 1)[0]
    assert res["p_positive"] == pytest.approx(p_exact, abs=5e-3)
    large = rate_gap(kd, nd, ke, ne, draws=1_000_000, seed=5)
    assert (res["lo"], res["hi"]) == pytest.approx((large["lo"], large["hi"]), abs=3e-3)
    assert res["mean_deploy"] == pytest.approx(dep.mean(), abs=2e-3)
    assert res["mean_eval"] == pytest.approx(ev.mean(), abs=2e-3)


def test_rate_gap_no_gap_and_errors():
    res = rate_gap(5, 50, 5, 50, draws=100_000)
    assert res["p_positive"] == pytest.approx(0.5, abs=0.01)
    assert res["lo"] < 0 < res["hi"]
    assert rate_gap(5, 50, 1, 50, seed=2) == rate_gap(5, 50, 1, 50, seed=2)
    with pytest.raises(ValueError, match="both cues"):
        rate_gap(0, 0, 1, 5)
    with pytest.raises(ValueError, match="k <= n"):
        rate_gap(6, 5, 1, 5)


# --- by_category, conditional_rate ---------------------------------------------------------
def test_by_category_pools_counts():
    counts = {"f1": (2, 10), "f2": (5, 20), "f3": (0, 7)}
    cats = {"f1": "sabotage", "f2": "sabotage", "f3": "deception"}
    out = by_category(counts, cats)
    assert list(out) == ["deception", "sabotage"]
    k, n, (lo, hi) = out["sabotage"]
    assert (k, n) == (7, 30)
    assert (lo, hi) == pytest.approx(hdi_interval(7, 30)[1:])  # the same interval rate_cell prints
    assert out["deception"][:2] == (0, 7)
    assert out["deception"][2] == pytest.approx((0.0, stats.beta(1, 8).ppf(0.95)))
    # Family objects with a .category attribute (envs.core.FAMILIES) work too
    fams = {f: SimpleNamespace(category=c) for f, c in cats.items()}
    assert by_category(counts, fams) == out
    assert by_category({}, cats) == {}
    with pytest.raises(ValueError, match="no category"):
        by_category({"f9": (1, 2)}, cats)
    with pytest.raises(ValueError):
        by_category({"f1": (3, 2)}, cats)


def test_conditional_rate():
    recs = [{"aware": True, "outcome": {"covert": True}}, {"aware": True, "outcome": {"covert": False}},
            {"aware": False, "outcome": {"covert": True}}, {"aware": True, "outcome": {"covert": True}}]
    assert conditional_rate(recs, lambda r: r["aware"], "covert") == (2, 3)
    assert conditional_rate(recs, lambda r: not r["aware"], "covert") == (1, 1)
    assert conditional_rate(recs, lambda r: True, lambda r: not r["outcome"]["covert"]) == (1, 4)
    assert conditional_rate([], lambda r: True, "covert") == (0, 0)
    assert conditional_rate(iter(recs), lambda r: r["aware"], "covert") == (2, 3)
