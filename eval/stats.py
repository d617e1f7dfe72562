"""Pure statistics for covert-action rates."""

from __future__ import annotations

from scipy import stats as _stats


def beta_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Posterior mean and equal-tailed credible interval of a rate after ``k`` events in ``n``
    trials, under a uniform Beta(1, 1) prior: the posterior is Beta(1 + k, 1 + n - k)."""
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    a, b = 1 + k, 1 + n - k
    tail = (1 - level) / 2
    return a / (a + b), float(_stats.beta.ppf(tail, a, b)), float(_stats.beta.ppf(1 - tail, a, b))
