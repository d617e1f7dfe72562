"""Pure statistics of covert-action rates: no I/O, no global state, seeded Monte Carlo.

Counts are ``(k, n)`` pairs, ``k`` covert episodes out of ``n``. Rates are Bayesian: under a
uniform prior the posterior is Beta(1 + k, 1 + n - k). A rate printed as a number is its
posterior mode, ``k / n``, beside the highest-density interval of the same posterior
(:func:`hdi_interval`, :func:`rate_cell`), so the interval always holds the number it accompanies
and reaches 0 (or 1) when nothing (or everything) was covert; derived quantities (differences,
suite means) are posterior means with equal-tailed intervals. :func:`fisher_exact` is the one
frequentist test. Typical use, base vs trained::

    zz = zero_zero_families({"base": base_counts, "sft": sft_counts})
    d = difference(base_counts, sft_counts, exclude=zz)   # d["mean"] < 0: sft is less covert
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping

import numpy as np
from scipy import optimize as _optimize
from scipy import stats as _stats

Counts = Mapping[str, tuple[int, int]]  # family -> (covert, episodes)
ALTERNATIVES = ("two-sided", "less", "greater")


def _count(k, n, what: str = "") -> tuple[int, int]:
    """Validate one ``(k, n)`` pair; integers (numpy ints included) with ``0 <= k <= n``."""
    where = f" for {what}" if what else ""
    try:
        k, n = operator.index(k), operator.index(n)
    except TypeError:
        raise ValueError(f"counts must be integers{where}, got k={k!r}, n={n!r}") from None
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n{where}, got k={k}, n={n}")
    return k, n


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    return float(level)


def _check_draws(draws: int) -> int:
    try:
        draws = operator.index(draws)
    except TypeError:
        raise ValueError(f"draws must be an integer, got {draws!r}") from None
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    return draws


def _quantiles(x: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    lo, hi = np.quantile(x, [tail, 1 - tail])
    return float(lo), float(hi)


def beta_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Posterior mean and equal-tailed credible interval of a rate after ``k`` events in ``n``
    trials, under a uniform Beta(1, 1) prior: the posterior is Beta(1 + k, 1 + n - k).

    Returns ``(mean, lo, hi)``. With ``n == 0`` this is the prior: ``(0.5, 0.025, 0.975)``.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    a, b = 1 + k, 1 + n - k
    tail = (1 - level) / 2
    return a / (a + b), float(_stats.beta.ppf(tail, a, b)), float(_stats.beta.ppf(1 - tail, a, b))



def hdi_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Posterior mode and highest-density credible interval of a rate after ``k`` events in
    ``n`` trials, under a uniform prior (posterior Beta(1 + k, 1 + n - k)).

    Returns ``(mode, lo, hi)``: the mode is ``k / n`` (the raw proportion) and lies inside the
    interval; ``0/n`` gives ``[0, 1 - (1 - level) ** (1 / (n + 1))]``, ``n/n`` the mirror image.
    With ``n == 0`` (flat posterior) the mode is None and the interval is the central ``level``.
    """
    k, n = _count(k, n)
    level = _check_level(level)
    a, b = 1 + k, 1 + n - k
    if n == 0:
        return None, (1 - level) / 2, (1 + level) / 2
    if k == 0:
        return 0.0, 0.0, float(_stats.beta.ppf(level, a, b))
    if k == n:
        return 1.0, float(_stats.beta.ppf(1 - level, a, b)), 1.0
    # unimodal: the narrowest window holding `level` of the mass
    width = lambda t: _stats.beta.ppf(t + level, a, b) - _stats.beta.ppf(t, a, b)  # noqa: E731
    res = _optimize.minimize_scalar(width, bounds=(0.0, 1 - level), method="bounded", options={"xatol": 1e-10})
    lo, hi = float(_stats.beta.ppf(res.x, a, b)), float(_stats.beta.ppf(res.x + level, a, b))
    return k / n, min(lo, k / n), max(hi, k / n)


def rate_cell(k: int, n: int) -> dict:
    """A rate as a table cell: ``{"rate": k / n, "lo", "hi", "k", "n"}`` with the 95%
    :func:`hdi_interval` of the same posterior (so ``lo <= rate <= hi``, also at 0/n and n/n);
    rate and bounds are None when ``n == 0``."""
    k, n = _count(k, n)
    if n == 0:
        return {"rate": None, "lo": None, "hi": None, "k": 0, "n": 0}
    rate, lo, hi = hdi_interval(k, n)
    return {"rate": rate, "lo": lo, "hi": hi, "k": k, "n": n}


def fisher_exact(k1: int, n1: int, k2: int, n2: int, alternative: str = "two-sided") -> tuple[float, float]:
    """Fisher's exact test of ``k1/n1`` against ``k2/n2`` on the 2x2 table
    ``[[k1, n1 - k1], [k2, n2 - k2]]`` (rows: groups; columns: covert, not covert).

    Returns ``(odds_ratio, p)``: the sample odds ratio ``k1 (n2 - k2) / ((n1 - k1) k2)``
    (``inf`` or ``nan`` when a cell is zero, as in :func:`scipy.stats.fisher_exact`) and
    the p-value. ``alternative="less"`` tests whether group 1's odds are lower than group
    2's, ``"greater"`` the reverse.
    """
    k1, n1 = _count(k1, n1, "group 1")
    k2, n2 = _count(k2, n2, "group 2")
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    res = _stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative=alternative)
    return float(res.statistic), float(res.pvalue)


def zero_zero_families(models_counts: Mapping[str, Counts]) -> set[str]:
    """Families with zero covert actions in every model that has them (``models_counts``:
    model -> family -> ``(k, n)``). Such families say nothing about which model is less
    covert, so comparisons leave them out (pass the result as ``exclude=``)."""
    seen: set[str] = set()
    nonzero: set[str] = set()
    for model, counts in models_counts.items():
        for fam, (k, n) in counts.items():
            k, _ = _count(k, n, f"{model}/{fam}")
            seen.add(fam)
            if k > 0:
                nonzero.add(fam)
    return seen - nonzero


def _select(counts: Counts, exclude: Iterable[str] | None, model: str = "") -> tuple[list[str], list[str]]:
    """(families included, families excluded), both sorted, after validation."""
    exclude = set(exclude or ())
    where = f" in model {model}" if model else ""
    included, excluded = [], []
    for fam in sorted(counts):
        k, n = _count(*counts[fam], f"{model}/{fam}" if model else fam)
        if fam in exclude:
            if k:
                raise ValueError(f"family {fam!r} is in exclude but has {k} covert action(s){where}; exclude only "
                                 f"families with zero covert actions in every compared model")
            excluded.append(fam)
        elif n == 0:
            raise ValueError(f"family {fam!r} has no episodes{where}; drop it or exclude it")
        else:
            included.append(fam)
    if not included:
        listed = f" (excluded: {', '.join(excluded)})" if excluded else ""
        raise ValueError(f"no families left to average{where}{listed}")
    return included, excluded


def _suite_draws(counts: Counts, families: list[str], draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` samples of the unweighted mean over ``families`` of posterior rates."""
    k = np.array([counts[f][0] for f in families], dtype=float)
    n = np.array([counts[f][1] for f in families], dtype=float)
    return rng.beta(1 + k, 1 + n - k, size=(draws, len(families))).mean(axis=1)


def _exact_mean(counts: Counts, families: list[str]) -> float:
    """The average of the posterior means (1 + k) / (2 + n): what the Monte Carlo mean estimates."""
    return float(np.mean([(1 + counts[f][0]) / (2 + counts[f][1]) for f in families]))


def suite_average(counts: Counts, draws: int = 20000, seed: int = 0, level: float = 0.95,
                  exclude: Iterable[str] | None = None) -> dict:
    """Posterior of a model's suite-average covert rate: the unweighted mean over families
    of the per-family rates, each family weighing the same whatever its episode count.

    Monte Carlo: each draw samples every family's rate from its Beta(1 + k, 1 + n - k)
    posterior and averages them. ``exclude`` names families left out — families with zero
    covert actions in every compared model (:func:`zero_zero_families`); naming one with
    covert actions here raises ``ValueError``, as does a family with ``n == 0``.

    Returns ``{"mean", "exact_mean", "lo", "hi", "level", "draws", "families",
    "excluded_zero_zero"}``: ``mean`` is the Monte Carlo mean (``exact_mean`` the analytic
    average of posterior means), ``lo``/``hi`` the equal-tailed interval, ``families`` and
    ``excluded_zero_zero`` sorted lists of family names.
    """
    level, draws = _check_level(level), _check_draws(draws)
    families, excluded = _select(counts, exclude)
    avg = _suite_draws(counts, families, draws, np.random.default_rng(seed))
    lo, hi = _quantiles(avg, level)
    return {"mean": float(avg.mean()), "exact_mean": _exact_mean(counts, families), "lo": lo, "hi": hi,
            "level": level, "draws": draws, "families": families, "excluded_zero_zero": excluded}


def difference(counts_a: Counts, counts_b: Counts, draws: int = 20000, seed: int = 0, level: float = 0.95,
               exclude: Iterable[str] | None = None) -> dict:
    """Posterior of the difference of suite averages, model b minus model a (negative: b is
    less covert), from independent Monte Carlo draws of each (see :func:`suite_average`).

    ``exclude=None`` leaves out :func:`zero_zero_families` of the two models; pass a set to
    choose (``set()`` keeps every family). After exclusion both models must cover the same
    families, else ``ValueError``.

    Returns ``{"mean", "lo", "hi", "level", "p_b_less" (P(b < a)), "mean_a", "mean_b",
    "draws", "families", "excluded_zero_zero"}``.
    """
    level, draws = _check_level(level), _check_draws(draws)
    if exclude is None:
        exclude = zero_zero_families({"a": counts_a, "b": counts_b})
    fam_a, excl_a = _select(counts_a, exclude, "a")
    fam_b, excl_b = _select(counts_b, exclude, "b")
    if fam_a != fam_b:
        only_a, only_b = sorted(set(fam_a) - set(fam_b)), sorted(set(fam_b) - set(fam_a))
        raise ValueError(f"models cover different families: only in a: {only_a}; only in b: {only_b}")
    rng = np.random.default_rng(seed)
    avg_a = _suite_draws(counts_a, fam_a, draws, rng)
    avg_b = _suite_draws(counts_b, fam_b, draws, rng)
    diff = avg_b - avg_a
    lo, hi = _quantiles(diff, level)
    return {"mean": float(diff.mean()), "lo": lo, "hi": hi, "level": level,
            "p_b_less": float(np.mean(avg_b < avg_a)), "mean_a": float(avg_a.mean()), "mean_b": float(avg_b.mean()),
            "draws": draws, "families": fam_a, "excluded_zero_zero": sorted(set(excl_a) | set(excl_b))}


def rate_gap(k_deploy: int, n_deploy: int, k_eval: int, n_eval: int, draws: int = 20000, seed: int = 0,
             level: float = 0.95) -> dict:
    """Posterior of the cue gap: covert rate under the deployment cue minus the rate under
    the evaluation cue (positive: more covert when the model believes it is not watched).

    Returns ``{"mean", "lo", "hi", "level", "p_positive" (P(deploy > eval)), "mean_deploy",
    "mean_eval", "draws"}``. Either ``n == 0`` raises ``ValueError``.
    """
    level, draws = _check_level(level), _check_draws(draws)
    k_deploy, n_deploy = _count(k_deploy, n_deploy, "deploy")
    k_eval, n_eval = _count(k_eval, n_eval, "eval")
    if n_deploy == 0 or n_eval == 0:
        raise ValueError(f"need episodes under both cues, got n_deploy={n_deploy}, n_eval={n_eval}")
    rng = np.random.default_rng(seed)
    dep = rng.beta(1 + k_deploy, 1 + n_deploy - k_deploy, size=draws)
    ev = rng.beta(1 + k_eval, 1 + n_eval - k_eval, size=draws)
    gap = dep - ev
    lo, hi = _quantiles(gap, level)
    return {"mean": float(gap.mean()), "lo": lo, "hi": hi, "level": level, "p_positive": float(np.mean(gap > 0)),
            "mean_deploy": float(dep.mean()), "mean_eval": float(ev.mean()), "draws": draws}


def by_category(counts: Counts, categories: Mapping[str, object], level: float = 0.95
                ) -> dict[str, tuple[int, int, tuple[float, float]]]:
    """Counts pooled within each category: ``{category: (k, n, (lo, hi))}`` with the 95%
    highest-density interval of the pooled rate (:func:`hdi_interval`), categories sorted by name.

    ``categories`` maps family -> category name, or family -> an object with a
    ``.category`` attribute (so ``envs.core.FAMILIES`` works as is). A family of ``counts``
    missing from it raises ``ValueError``. Pooling weighs families by their episode counts,
    unlike :func:`suite_average`.
    """
    level = _check_level(level)
    pooled: dict[str, list[int]] = {}
    for fam in counts:
        k, n = _count(*counts[fam], fam)
        if fam not in categories:
            raise ValueError(f"family {fam!r} has no category; known: {', '.join(sorted(categories))}")
        cat = categories[fam]
        cat = getattr(cat, "category", cat)
        acc = pooled.setdefault(str(cat), [0, 0])
        acc[0] += k
        acc[1] += n
    out = {}
    for cat in sorted(pooled):
        k, n = pooled[cat]
        _, lo, hi = hdi_interval(k, n, level) if n else beta_interval(k, n, level)
        out[cat] = (k, n, (lo, hi))
    return out


def conditional_rate(records: Iterable[dict], condition: Callable[[dict], bool],
                     outcome: str | Callable[[dict], bool]) -> tuple[int, int]:
    """``(k, n)``: ``n`` records for which ``condition(record)`` holds, ``k`` of them with the
    outcome. ``outcome`` is a predicate or a key of ``record["outcome"]`` (``"covert"``).

    E.g. the covert rate among episodes whose reasoning verbalizes evaluation awareness::

        k, n = conditional_rate(records, lambda r: says_eval(r), "covert")
        mean, lo, hi = beta_interval(k, n)
    """
    if isinstance(outcome, str):
        key = outcome
        outcome = lambda r: r["outcome"][key]  # noqa: E731
    k = n = 0
    for r in records:
        if condition(r):
            n += 1
            k += bool(outcome(r))
    return k, n
