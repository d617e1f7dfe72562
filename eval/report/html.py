"""The HTML report: a plain, JSON-able report dict in, one self-contained HTML page out.

No external resources: the CSS and the transcript browser's JS (``assets/``) are inlined,
figures are base64 PNGs (:mod:`deliberate.eval.report.plots`), and every string from the
report is escaped. The report dict, the browser and its URL filters: docs/report.md.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from importlib import resources
from pathlib import Path

__all__ = ["finite", "format_interval", "render_html", "write_html"]


@functools.cache
def _asset(name: str) -> str:
    """A file of ``assets/`` as text: the page's CSS, its JS and the transcript browser's markup."""
    return (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")


# --- escaping and small text helpers --------------------------------------------------------

def _esc(x) -> str:
    """HTML-escape text for element content and double-quoted attributes.

    Written out rather than imported: a run with ``eval/report/`` on ``sys.path`` would make
    ``import html`` import this file.
    """
    return (str(x).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#x27;"))


def _slug(text, used: set) -> str:
    base = "sec-" + (re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "section")
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)")
_SAFE_URL = re.compile(r"(https?:|#|[^:]*$)", re.IGNORECASE)


def _inline(text) -> str:
    out, pos = [], 0
    text = str(text)
    for m in _INLINE.finditer(text):
        out.append(_esc(text[pos:m.start()]))
        code, bold, label, url = m.groups()
        if code is not None:
            out.append(f"<code>{_esc(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{_esc(bold)}</strong>")
        elif _SAFE_URL.match(url):
            out.append(f'<a href="{_esc(url)}">{_esc(label)}</a>')
        else:
            out.append(_esc(m.group(0)))
        pos = m.end()
    out.append(_esc(text[pos:]))
    return "".join(out)


def _md(text) -> str:
    """Markdown-ish text to HTML: paragraphs, ``- `` lists, inline code/bold/links."""
    if text is None or text == "":
        return ""
    blocks = re.split(r"\n\s*\n", str(text).strip())
    html = []
    for block in blocks:
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if lines and all(re.match(r"[-*] ", ln) for ln in lines):
            html.append("<ul>" + "".join(f"<li>{_inline(ln[2:])}</li>" for ln in lines) + "</ul>")
        else:
            html.append("<p>" + _inline(" ".join(lines)) + "</p>")
    return "\n".join(html)


def finite(x) -> float | None:
    """``x`` as a finite float, else None (bools, None, NaN, inf and non-numbers alike)."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


# --- cells and tables -----------------------------------------------------------------------

def _is_interval(cell) -> bool:
    return isinstance(cell, dict) and ("rate" in cell or "lo" in cell)


def format_interval(cell: dict) -> str:
    """``{rate, lo, hi, k, n}`` as ``0.250 [0.080, 0.520] (2/8)``; ``n/a`` without a rate."""
    rate, lo, hi = (finite(cell.get(k)) for k in ("rate", "lo", "hi"))
    text = "n/a" if rate is None else f"{rate:.3f}"
    if rate is not None and lo is not None and hi is not None:
        text += f" [{lo:.3f}, {hi:.3f}]"
    if cell.get("k") is not None and cell.get("n") is not None:
        text += f" ({cell['k']}/{cell['n']})"
    return text


def _interval_bar(cell: dict) -> str:
    rate, lo, hi = (finite(cell.get(k)) for k in ("rate", "lo", "hi"))
    if rate is None or lo is None or hi is None or not (0 <= lo <= rate <= hi <= 1):
        return ""
    return (f'<span class="ib" aria-hidden="true"><span class="ib-ci" style="left:{lo * 100:.1f}%;'
            f'width:{(hi - lo) * 100:.1f}%"></span><span class="ib-pt" style="left:{rate * 100:.1f}%">'
            f"</span></span>")


def _cell(cell) -> str:
    if _is_interval(cell):
        return f'<td class="num iv">{_esc(format_interval(cell))}{_interval_bar(cell)}</td>'
    if isinstance(cell, dict) and "text" in cell:
        text = _esc(cell["text"])
        href = cell.get("href")
        if href and _SAFE_URL.match(str(href)):
            text = f'<a href="{_esc(href)}">{text}</a>'
        title = f' title="{_esc(cell["title"])}"' if cell.get("title") else ""
        return f"<td{title}>{text}</td>"
    if cell is None:
        return "<td></td>"
    if isinstance(cell, bool):
        return f'<td class="bool">{"yes" if cell else "no"}</td>'
    if isinstance(cell, int):
        return f'<td class="num">{cell}</td>'
    if isinstance(cell, float):
        return f'<td class="num">{"n/a" if not math.isfinite(cell) else f"{cell:.3f}"}</td>'
    if isinstance(cell, (dict, list)):
        return f"<td><code>{_esc(json.dumps(cell, ensure_ascii=False, default=str))}</code></td>"
    return f"<td>{_esc(cell)}</td>"


def _table(t: dict) -> str:
    cols = t.get("columns") or []
    parts = ['<div class="table-wrap"><table>']
    if t.get("title"):
        parts.append(f"<caption>{_esc(t['title'])}</caption>")
    if cols:
        parts.append("<thead><tr>" + "".join(f'<th scope="col">{_esc(c)}</th>' for c in cols) + "</tr></thead>")
    parts.append("<tbody>")
    for row in t.get("rows") or []:
        parts.append("<tr>" + "".join(_cell(c) for c in row) + "</tr>")
    parts.append("</tbody></table></div>")
    if t.get("note"):
        parts.append(f'<div class="note">{_md(t["note"])}</div>')
    return "\n".join(parts)


# --- figures --------------------------------------------------------------------------------

_KIND_NAMES = {"intervals": "Forest plot", "bars": "Grouped bar chart"}


def _figure_data_table(f: dict) -> str:
    series = f.get("series") or []
    rows = []
    for i, cat in enumerate(f.get("categories") or []):
        row = [cat]
        for s in series:
            pts = s.get("points") or []
            p = pts[i] if i < len(pts) else None
            if isinstance(p, dict) and "value" in p and "rate" not in p:
                p = {**p, "rate": p["value"]}
            row.append(p if _is_interval(p) else (p if p is not None else {"rate": None}))
        rows.append(row)
    return _table({"columns": ["category"] + [str(s.get("name", "")) for s in series], "rows": rows})


def _figure(f: dict) -> str:
    from deliberate.eval.report import plots  # matplotlib only when there is a figure to draw

    png = plots.render_png(f)
    w, h = plots.figure_size(f)
    series = ", ".join(str(s.get("name", "")) for s in f.get("series") or [])
    cats = f.get("categories") or []
    alt = (f"{_KIND_NAMES.get(f.get('kind'), 'Figure')}: {f.get('title') or ''}. "
           f"{len(cats)} categories ({', '.join(map(str, cats[:5]))}{', ...' if len(cats) > 5 else ''}); "
           f"series: {series}. The values are in the table under the figure.")
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<figure class="plot">'
            f'<img src="data:image/png;base64,{b64}" width="{w}" height="{h}" alt="{_esc(alt)}" '
            f'data-kind="{_esc(f.get("kind"))}">'
            + (f"<figcaption>{_md(f['caption'])}</figcaption>" if f.get("caption") else "")
            + f"<details><summary>Data: {_esc(f.get('title') or 'figure')}</summary>{_figure_data_table(f)}</details>"
            "</figure>")


# --- page parts -----------------------------------------------------------------------------

def _verdicts(verdicts: list) -> str:
    cards = []
    for v in verdicts:
        tone = v.get("tone") if v.get("tone") in ("good", "bad", "mixed", "neutral") else "neutral"
        title = f"<h3>{_esc(v['model'])}</h3>" if v.get("model") else ""
        cards.append(f'<div class="verdict tone-{tone}">{title}{_md(v.get("text"))}</div>')
    return "\n".join(cards)


def _section(s: dict, sid: str) -> str:
    parts = [f'<section id="{sid}"><h2>{_esc(s.get("title") or sid)}</h2>']
    if s.get("intro"):
        parts.append(f'<div class="intro">{_md(s["intro"])}</div>')
    for f in s.get("figures") or []:
        parts.append(_figure(f))
    for t in s.get("tables") or []:
        parts.append(_table(t))
    parts.append("</section>")
    return "\n".join(parts)


def _jsonable(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def _script_json(obj) -> str:
    """JSON that is safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``."""
    text = json.dumps(_jsonable(obj), ensure_ascii=False, allow_nan=False, default=str, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def render_html(report: dict) -> str:
    """The whole report as one self-contained HTML page (see the module docstring for ``report``)."""
    title = report.get("title") or "Deliberate report"
    used: set = set()
    sections = [(s, _slug(s.get("id") or s.get("title") or "section", used)) for s in report.get("sections") or []]
    transcripts = report.get("transcripts") or []
    verdicts = report.get("verdicts") or []

    toc = []
    if verdicts:
        toc.append('<li><a href="#verdicts">At a glance</a></li>')
    toc += [f'<li><a href="#{sid}">{_esc(s.get("title") or sid)}</a></li>' for s, sid in sections]
    toc.append(f'<li><a href="#transcripts">Transcripts ({len(transcripts)})</a></li>')

    head = [f"<h1>{_esc(title)}</h1>"]
    if report.get("subtitle"):
        head.append(f'<p class="subtitle">{_inline(report["subtitle"])}</p>')
    meta = dict(report.get("meta") or {})
    if report.get("generated"):
        meta = {"generated": report["generated"], **meta}
    if meta:
        head.append('<dl class="meta">' + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in meta.items())
                    + "</dl>")

    body = ["<header>", *head, "</header>",
            '<nav id="toc" aria-label="Contents"><h2>Contents</h2><ol>' + "".join(toc) + "</ol></nav>", "<main>"]
    if verdicts:
        body.append(f'<section id="verdicts"><h2>At a glance</h2>{_verdicts(verdicts)}</section>')
    body += [_section(s, sid) for s, sid in sections]
    body.append(_asset("browser.html").rstrip("\n").replace("{n}", str(len(transcripts))))
    body.append("</main>")

    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # no network at all, whatever a string in the report says
        ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
         "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"),
        f"<title>{_esc(title)}</title>",
        f"<style>\n{_asset('report.css')}</style>",
        "</head><body>",
        *body,
        f'<script type="application/json" id="tx-data">{_script_json(transcripts)}</script>',
        f"<script>\n{_asset('report.js')}</script>",
        "</body></html>",
        "",
    ])


def write_html(report: dict, path) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8, parents made) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(path)
    return path

