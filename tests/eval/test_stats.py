import pytest
from scipy import stats

from deliberate.eval.stats import beta_interval


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
