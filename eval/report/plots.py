"""Figures for the HTML report: a figure spec (a plain dict) in, PNG bytes out.

Two kinds, ``intervals`` (a forest plot) and ``bars`` (grouped bars), both horizontal, one row
per category; the pixel size depends only on the number of categories and series. The spec:
docs/report.md.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from deliberate.eval.report.html import finite

KINDS = ("intervals", "bars")
DPI = 100
WIDTH_IN = 9.0
# Okabe-Ito: distinguishable with the common colour-vision deficiencies; markers differ too.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")
MAX_LABEL = 38


def figure_size(spec: dict) -> tuple[int, int]:
    """(width, height) in pixels of the PNG :func:`render_png` makes for ``spec``."""
    n_cat = max(1, len(spec.get("categories") or []))
    n_ser = max(1, len(spec.get("series") or []))
    row_in = max(0.32, 0.11 * n_ser + 0.14)
    height_in = 1.5 + row_in * n_cat
    return round(WIDTH_IN * DPI), round(height_in * DPI)


def _value(p) -> float | None:
    return finite(p.get("rate", p.get("value")) if isinstance(p, dict) else p)


def _bounds(p, v: float) -> tuple[float, float] | None:
    if not isinstance(p, dict):
        return None
    lo, hi = finite(p.get("lo")), finite(p.get("hi"))
    if lo is None or hi is None:
        return None
    return min(lo, v), max(hi, v)


def _label(s) -> str:
    s = str(s)
    return s if len(s) <= MAX_LABEL else s[: MAX_LABEL - 1] + "\u2026"


def _check(spec: dict) -> tuple[list, list]:
    cats = list(spec.get("categories") or [])
    series = list(spec.get("series") or [])
    for s in series:
        if len(s.get("points") or []) != len(cats):
            raise ValueError(f"figure {spec.get('title')!r}: series {s.get('name')!r} has "
                             f"{len(s.get('points') or [])} points for {len(cats)} categories")
    return cats, series


def _new_figure(spec: dict):
    w, h = figure_size(spec)
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    return fig, ax


def _finish(fig, ax, spec: dict, cats: list, series: list, xlabel: str) -> bytes:
    n = len(cats)
    ax.set_yticks(range(n), [_label(c) for c in cats], fontsize=9)
    ax.set_ylim(max(n, 1) - 0.5, -0.5)  # first category at the top
    if n > 1:
        for y in range(n - 1):  # faint separators between rows
            ax.axhline(y + 0.5, color="#e4e4e4", linewidth=0.6, zorder=0)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel(spec.get("xlabel") or xlabel, fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if spec.get("title"):
        ax.set_title(str(spec["title"]), fontsize=11, loc="left")
    if series:
        # above the plot, outside the data: never covers a point
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=min(len(series), 4), fontsize=8,
                  frameon=False, borderaxespad=0.2)
    if not n:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#888888")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def _offsets(n_ser: int) -> list[float]:
    step = min(0.22, 0.7 / max(n_ser, 1))
    return [(i - (n_ser - 1) / 2) * step for i in range(n_ser)]


def _points(points: list, off: float) -> tuple[list, list, list[list], list]:
    """One series' drawable points: y positions (row + ``off``), values, ``[below, above]`` error
    lengths (0 without an interval), and every value and interval end (for the x range)."""
    ys, xs, err, ends = [], [], [[], []], []
    for y, p in enumerate(points):
        v = _value(p)
        if v is None:
            continue
        lo, hi = _bounds(p, v) or (v, v)
        ys.append(y + off)
        xs.append(v)
        err[0].append(v - lo)
        err[1].append(hi - v)
        ends += [lo, hi]
    return ys, xs, err, ends


def intervals_png(spec: dict) -> bytes:
    """A forest plot: per category, one marker and 95% interval per series."""
    cats, series = _check(spec)
    fig, ax = _new_figure(spec)
    for i, (s, off) in enumerate(zip(series, _offsets(len(series)), strict=True)):
        ys, xs, err, _ = _points(s["points"], off)
        ax.errorbar(xs, ys, xerr=err, fmt=MARKERS[i % len(MARKERS)], color=COLORS[i % len(COLORS)],
                    markersize=5, elinewidth=1.4, capsize=2.5, label=str(s.get("name", f"series {i + 1}")))
    lo, hi = spec.get("xlim") or (0.0, 1.0)
    pad = 0.015 * (hi - lo)  # so a marker at exactly 0 or 1 is drawn whole
    ax.set_xlim(lo - pad, hi + pad)
    return _finish(fig, ax, spec, cats, series, "rate (95% interval)")


def bars_png(spec: dict) -> bytes:
    """Grouped horizontal bars with error bars; negative values go left of the zero line."""
    cats, series = _check(spec)
    fig, ax = _new_figure(spec)
    height = min(0.8 / max(len(series), 1), 0.3)
    ends = [0.0]
    for i, (s, off) in enumerate(zip(series, _offsets(len(series)), strict=True)):
        ys, xs, err, drawn = _points(s["points"], off)
        ends += drawn
        color = COLORS[i % len(COLORS)]
        ax.barh(ys, xs, height=height * 0.95, color=color, alpha=0.85,
                label=str(s.get("name", f"series {i + 1}")))
        ax.errorbar(xs, ys, xerr=err, fmt="none", ecolor="#333333", elinewidth=1.0, capsize=2)
    ax.axvline(0.0, color="#333333", linewidth=1.0)
    if spec.get("xlim"):
        ax.set_xlim(*spec["xlim"])
    else:
        lo, hi = min(ends), max(ends)
        pad = 0.05 * ((hi - lo) or 1.0)
        ax.set_xlim(lo - pad, hi + pad)
    return _finish(fig, ax, spec, cats, series, "difference (95% interval)")


def render_png(spec: dict) -> bytes:
    """PNG bytes for a figure spec of any kind in :data:`KINDS`."""
    kind = spec.get("kind")
    if kind == "intervals":
        return intervals_png(spec)
    if kind == "bars":
        return bars_png(spec)
    raise ValueError(f"unknown figure kind {kind!r}; expected one of {KINDS}")
