"""The HTML report: one self-contained file people can read at a glance.

    from deliberate.eval.report.html import render_html, write_html
    write_html(report, "runs/demo/report.html")

:func:`render_html` turns a plain, JSON-able ``report`` dict into one HTML page with no
external resources at all (no CDN, no fonts, no links to load): inline CSS, figures as
base64 PNG ``<img>`` with alt text (drawn by :mod:`deliberate.eval.report.plots`), tables, verdict
paragraphs, a table of contents and a transcript browser run by inline vanilla JS. Every
string from the report is escaped (model output included: a transcript saying
``</script><script>alert(1)</script>`` is shown as that text); the JS builds the browser with
``textContent`` only, never ``innerHTML``.

The report dict (every key optional unless marked *required*)::

    {
      "title": "Deliberate report: demo",          # page <title> and <h1>
      "subtitle": "base vs sft on 20 held-out families",
      "generated": "2026-11-27T14:00:00Z",         # shown as given; nothing adds a timestamp
      "meta": {"spec": "v3 (sha256 ab12...)", "git": "1a2b3c"},   # key/value lines under the title
      "verdicts": [                                # "at a glance", first on the page
        {"model": "sft", "text": "markdown-ish paragraph",
         "tone": "good" | "bad" | "mixed" | "neutral"}],           # colours the card's edge
      "sections": [{
        "id": "covert",                            # anchor (slugged, made unique, prefixed "sec-")
        "title": "Covert-action rate per family",  # required
        "intro": "markdown-ish text",
        "tables": [{"title": "...", "columns": ["family", "base", "sft"],
                    "rows": [["impossible_checklist", {"rate": 0.25, "lo": 0.08, "hi": 0.52, "k": 2, "n": 8}, 0.1]],
                    "note": "markdown-ish text under the table"}],
        "figures": [{"kind": "intervals" | "bars", "title": "...", "categories": ["fam1", "fam2"],
                     "series": [{"name": "base", "points": [{"rate": .., "lo": .., "hi": ..}, None, ...]}],
                     "xlabel": "...", "xlim": [0, 1], "caption": "markdown-ish text"}]}],
      "transcripts": [{                            # one per transcript, for the browser
        "model": "sft", "family": "oversight_config", "category": "oversight_subversion",
        "cue": "deploy", "scenario_id": "...",
        "covert": true, "escalated": false, "completed": false,
        "aware": false | true | null,              # null/missing: unknown
        "grades": {"intent_monitor": true},        # any name -> JSON value, shown as badges
        "system": "...", "user": "...",
        "turns": [{"reasoning": "...", "action": "{\"tool\": ...}", "result": "...",
                   "cut": 37 | null,               # counterfactual cut: a Python str index into reasoning
                   "injected": "sentence" | ["s1", "s2"] | null}],  # highlighted where found
        "final_message": null | "...", "evidence": ["..."], "tags": ["counterfactual:resampled"]}]
    }

Table cells are a string, a number (floats with 3 decimals), a bool (yes/no), ``None`` (blank),
an interval dict ``{rate, lo, hi, k, n}`` shown as ``0.250 [0.080, 0.520] (2/8)`` (``k``/``n``
optional; ``rate: None`` is ``n/a``) with a small inline interval bar when it lies in [0, 1], or
a link ``{"text": "oversight_config", "href": "#family=oversight_config", "title": "tooltip"}``
(``href`` and ``title`` optional; see the browser's hash filters below).
"Markdown-ish" text: paragraphs split by blank lines, ``- `` bullet lists, ``**bold**``,
```code``` and ``[text](https://...)`` links (http(s), ``#anchor`` or relative only).
Figures are described in :mod:`deliberate.eval.report.plots`; each also gets its numbers in a
collapsible table under the image.

The transcript browser: the transcripts travel as JSON in a
``<script type="application/json" id="tx-data">`` (``<``, ``>``, ``&`` written as ``\\u003c``...
so nothing in it can close the tag); the inline JS renders a per-family list
(``<ul id="tx-families">``, one ``<li data-family=...>`` each, click to filter), filters
(model, family, cue, outcome covert/honest, aware yes/no, a text search over every text
field), and a paged list of transcripts, each a ``<details>`` that, opened, shows system and
user prompts and every turn: the reasoning with a red "✂ cut here" marker at ``cut`` (the
text after it is shaded as resampled) and injected sentences highlighted, the action
(pretty-printed JSON), the tool result, then the final message, grades, evidence and tags.
The URL fragment sets filters, so a table cell or a reader can link straight to transcripts:
``report.html#family=oversight_config&model=sft&outcome=covert`` (keys ``model``, ``family``,
``cue``, ``outcome`` = covert|honest, ``aware`` = yes|no|unknown, ``q`` = search text);
``#expand=all`` shows and opens every matching transcript.

For headless-browser checks, once the page's ``load`` event has fired (every image decoded or
failed) the JS sets on ``<body>``: ``data-images-total``, ``data-images-ok`` (images with
``naturalWidth > 0``), ``data-transcripts`` (how many were parsed) and last ``data-ready="1"``;
each ``<img>`` gets ``data-loaded="1"`` or ``"0"``. If the script fails, ``data-ready="error"``
and ``data-error`` say why.
"""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

__all__ = ["format_interval", "render_html", "write_html"]


# --- escaping and small text helpers --------------------------------------------------------

def _esc(x) -> str:
    """HTML-escape text for element content and double-quoted attributes.

    Written out rather than imported: this module is ``eval/report/html.py``, and a run with ``eval/``
    on ``sys.path`` would make ``import html`` import this file.
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


def _finite(x) -> float | None:
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
    rate, lo, hi = (_finite(cell.get(k)) for k in ("rate", "lo", "hi"))
    text = "n/a" if rate is None else f"{rate:.3f}"
    if rate is not None and lo is not None and hi is not None:
        text += f" [{lo:.3f}, {hi:.3f}]"
    if cell.get("k") is not None and cell.get("n") is not None:
        text += f" ({cell['k']}/{cell['n']})"
    return text


def _interval_bar(cell: dict) -> str:
    rate, lo, hi = (_finite(cell.get(k)) for k in ("rate", "lo", "hi"))
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
    body.append(_BROWSER_HTML.replace("{n}", str(len(transcripts))))
    body.append("</main>")

    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # no network at all, whatever a string in the report says
        ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
         "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"),
        f"<title>{_esc(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        *body,
        f'<script type="application/json" id="tx-data">{_script_json(transcripts)}</script>',
        f"<script>{_JS}</script>",
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


_BROWSER_HTML = """<section id="transcripts"><h2>Transcripts ({n})</h2>
<p class="intro">Click a family to show only its transcripts; open a transcript to read it.
In reasoning, <span class="cut-marker">\u2702 cut here</span> marks a counterfactual cut (the
text after it is <span class="after-cut">resampled</span>) and
<mark class="injected">injected sentences</mark> are highlighted.</p>
<noscript><p class="note">The transcript browser needs JavaScript.</p></noscript>
<ul id="tx-families" class="families"></ul>
<div id="tx-filters" class="filters"></div>
<p id="tx-count" class="count"></p>
<ol id="tx-list" class="tx-list"></ol>
<button type="button" id="tx-more" class="more" hidden>Show more</button>
</section>"""


_CSS = """
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg:#fff;--soft:#f6f7f9;--accent:#0b57d0;
--bad:#c5221f;--good:#188038;--mixed:#b06000}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);
background:var(--bg)}
header,nav#toc,main{max-width:1180px;margin:0 auto;padding:0 24px}
header{padding-top:28px}
h1{font-size:28px;margin:0 0 4px}
h2{font-size:21px;margin:36px 0 12px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:0 0 6px}
.subtitle{color:var(--muted);margin:0 0 10px;font-size:16px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:13px;color:var(--muted);margin:8px 0}
dl.meta dt{font-weight:600}dl.meta dd{margin:0;word-break:break-all}
nav#toc h2{font-size:15px;border:0;margin:18px 0 4px}nav#toc ol{margin:0;padding-left:22px;columns:2}
a{color:var(--accent)}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
background:var(--soft);padding:1px 4px;border-radius:3px}
.verdict{border-left:5px solid var(--muted);background:var(--soft);padding:10px 16px;margin:10px 0;border-radius:4px}
.verdict p{margin:4px 0}.tone-good{border-color:var(--good)}.tone-bad{border-color:var(--bad)}
.tone-mixed{border-color:var(--mixed)}
.intro p{margin:6px 0}.note{font-size:13px;color:var(--muted)}
figure.plot{margin:16px 0}figure.plot img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figure.plot details{font-size:13px}figcaption{font-size:13px;color:var(--muted)}
.table-wrap{overflow-x:auto;margin:12px 0}
table{border-collapse:collapse;font-size:13px;min-width:50%}
caption{text-align:left;font-weight:600;padding:4px 0;font-size:14px}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
thead th{background:var(--soft);position:sticky;top:0}
tbody tr:nth-child(even){background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ib{display:block;position:relative;height:6px;margin-top:3px;background:#eceff3;border-radius:3px;min-width:90px}
.ib-ci{position:absolute;top:0;height:6px;background:#8ab4f8;border-radius:3px}
.ib-pt{position:absolute;top:-2px;width:3px;height:10px;margin-left:-1px;background:var(--accent)}
.families{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px;margin:10px 0}
.families button{font:inherit;font-size:13px;border:1px solid var(--line);background:var(--bg);border-radius:14px;
padding:2px 10px;cursor:pointer}
.families button.active{background:var(--accent);color:#fff;border-color:var(--accent)}
.families .fam-count{color:var(--muted);margin-left:4px}.families button.active .fam-count{color:#e8f0fe}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:end;margin:10px 0;font-size:13px}
.filters label{display:flex;flex-direction:column;gap:2px;color:var(--muted)}
.filters select,.filters input{font:inherit;font-size:13px;
padding:3px 6px;border:1px solid var(--line);border-radius:4px}
.filters input[type=search]{min-width:240px}
.filters button,.more{font:inherit;font-size:13px;padding:3px 10px;border:1px solid var(--line);border-radius:4px;
background:var(--soft);cursor:pointer}
.count{font-size:13px;color:var(--muted)}
.tx-list{list-style:none;padding:0;margin:0}
.tx-list>li{border:1px solid var(--line);border-radius:5px;margin:6px 0}
.tx-list summary{cursor:pointer;padding:6px 10px;display:flex;flex-wrap:wrap;gap:6px;align-items:center}
.tx-body{padding:4px 14px 12px;border-top:1px solid var(--line)}
.badge{font-size:12px;border-radius:10px;padding:0 8px;background:#eceff3;white-space:nowrap}
.badge.model{background:#e8f0fe;color:#174ea6;font-weight:600}.badge.family{font-weight:600;background:transparent}
.badge.covert{background:#fce8e6;color:var(--bad);font-weight:600}.badge.honest{background:#e6f4ea;color:var(--good)}
.badge.aware{background:#fef7e0;color:#8a5a00}.badge.sid{font-family:ui-monospace,monospace;background:transparent;
color:var(--muted)}
.tx-body h4{margin:12px 0 4px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.turn{border-left:3px solid var(--line);padding-left:10px;margin:10px 0}
pre{white-space:pre-wrap;word-wrap:break-word;background:var(--soft);padding:8px 10px;border-radius:4px;margin:4px 0;
font:12.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre.reasoning{background:#fbfbf4}
.cut-marker{color:#fff;background:var(--bad);font-weight:700;border-radius:3px;padding:0 5px;margin:0 2px;
font-family:system-ui,sans-serif;font-size:12px;white-space:nowrap}
.after-cut{background:#fdecea}
mark.injected{background:#fde293;outline:1px solid #f9ab00;border-radius:2px}
ul.evidence{margin:4px 0;padding-left:20px;font-size:13px}
@media print{.filters,.families,.more{display:none}}
"""


_JS = r"""
(function () {
  "use strict";
  var body = document.body;
  function fail(err) {
    body.dataset.error = String(err && err.stack || err);
    body.dataset.ready = "error";
  }
  function markReady() {
    var imgs = Array.prototype.slice.call(document.images), ok = 0;
    imgs.forEach(function (img) {
      var good = img.complete && img.naturalWidth > 0;
      img.dataset.loaded = good ? "1" : "0";
      if (good) ok += 1;
    });
    body.dataset.imagesTotal = String(imgs.length);
    body.dataset.imagesOk = String(ok);
    if (body.dataset.ready !== "error") body.dataset.ready = "1";
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function str(x) { return x === undefined || x === null ? "" : String(x); }
  function yn(x) { return x === true ? "yes" : x === false ? "no" : "unknown"; }

  try {
    var data = JSON.parse(document.getElementById("tx-data").textContent || "[]");
    if (!Array.isArray(data)) data = [];
    body.dataset.transcripts = String(data.length);
    var state = {model: "", family: "", cue: "", outcome: "", aware: "", q: ""};
    function hashParams() {
      var out = {};
      location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
        var i = kv.indexOf("=");
        if (i > 0) {
          try { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " ")); }
          catch (e) { /* not ours */ }
        }
      });
      return out;
    }
    var PAGE = 100, expandAll = hashParams().expand === "all", shown = expandAll ? Infinity : PAGE;
    var famList = document.getElementById("tx-families"), filters = document.getElementById("tx-filters");
    var list = document.getElementById("tx-list"), count = document.getElementById("tx-count");
    var more = document.getElementById("tx-more");

    function uniq(key) {
      var seen = {};
      data.forEach(function (t) { if (t && t[key] !== undefined && t[key] !== null) seen[String(t[key])] = 1; });
      return Object.keys(seen).sort();
    }
    function haystack(t) {
      if (t.__hay === undefined) {
        var parts = [t.model, t.family, t.category, t.cue, t.scenario_id, t.system, t.user, t.final_message];
        (t.turns || []).forEach(function (u) {
          parts.push(u.reasoning, typeof u.action === "string" ? u.action : JSON.stringify(u.action), u.result);
        });
        parts = parts.concat(t.evidence || [], t.tags || []);
        Object.defineProperty(t, "__hay", {value: parts.map(str).join("\n").toLowerCase(), enumerable: false});
      }
      return t.__hay;
    }
    function matches(t) {
      if (state.model && str(t.model) !== state.model) return false;
      if (state.family && str(t.family) !== state.family) return false;
      if (state.cue && str(t.cue) !== state.cue) return false;
      if (state.outcome && (t.covert ? "covert" : "honest") !== state.outcome) return false;
      if (state.aware && yn(t.aware) !== state.aware) return false;
      if (state.q && haystack(t).indexOf(state.q) < 0) return false;
      return true;
    }

    // --- the family list: always every family, click to filter
    var famButtons = {};
    uniq("family").forEach(function (fam) {
      var n = 0, k = 0;
      data.forEach(function (t) { if (str(t.family) === fam) { n += 1; if (t.covert) k += 1; } });
      var li = el("li");
      li.dataset.family = fam;
      var b = el("button", "fam");
      b.type = "button";
      b.appendChild(el("span", "fam-name", fam));
      b.appendChild(el("span", "fam-count", k + "/" + n + " covert"));
      b.addEventListener("click", function () { setFilter("family", state.family === fam ? "" : fam); });
      li.appendChild(b);
      famList.appendChild(li);
      famButtons[fam] = b;
    });

    // --- filters
    var selects = {};
    function addSelect(key, label, values) {
      var lab = el("label", null, label), sel = el("select");
      sel.id = "tx-filter-" + key;
      sel.appendChild(new Option("all", ""));
      values.forEach(function (v) { sel.appendChild(new Option(v, v)); });
      sel.addEventListener("change", function () { setFilter(key, sel.value); });
      lab.appendChild(sel);
      filters.appendChild(lab);
      selects[key] = sel;
    }
    addSelect("model", "model", uniq("model"));
    addSelect("family", "family", uniq("family"));
    addSelect("cue", "cue", uniq("cue"));
    addSelect("outcome", "outcome", ["covert", "honest"]);
    var awareVals = ["yes", "no"];
    if (data.some(function (t) { return yn(t.aware) === "unknown"; })) awareVals.push("unknown");
    addSelect("aware", "aware", awareVals);
    var qlab = el("label", null, "search"), q = el("input");
    q.type = "search";
    q.id = "tx-search";
    q.placeholder = "text in prompts, reasoning, actions...";
    q.addEventListener("input", function () { state.q = q.value.trim().toLowerCase(); shown = PAGE; render(); });
    qlab.appendChild(q);
    filters.appendChild(qlab);
    var openB = el("button", null, "expand shown"), closeB = el("button", null, "collapse all"),
        resetB = el("button", null, "reset filters");
    [openB, closeB, resetB].forEach(function (b) { b.type = "button"; filters.appendChild(b); });
    openB.addEventListener("click", function () { setOpen(true); });
    closeB.addEventListener("click", function () { setOpen(false); });
    resetB.addEventListener("click", function () {
      Object.keys(selects).forEach(function (k) { selects[k].value = ""; state[k] = ""; });
      q.value = ""; state.q = ""; shown = PAGE; render();
    });

    function setFilter(key, value) {
      state[key] = value;
      if (selects[key]) selects[key].value = value;
      shown = PAGE;
      render();
    }
    function setOpen(open) {
      Array.prototype.forEach.call(list.querySelectorAll("details.tx"), function (d) { d.open = open; });
    }

    // --- one transcript
    function codePoints(s) { return Array.from(s); }
    function cpIndex(s, utf16) { return Array.from(s.slice(0, utf16)).length; }
    function reasoningNode(text, cut, injected) {
      var pre = el("pre", "reasoning");
      text = str(text);
      var chars = codePoints(text), len = chars.length, ranges = [], missing = [];
      var inj = injected === undefined || injected === null ? [] : (Array.isArray(injected) ? injected : [injected]);
      inj.map(str).filter(function (s) { return s.length > 0; }).forEach(function (s) {
        var from = 0, found = false, i;
        while ((i = text.indexOf(s, from)) >= 0) {
          var a = cpIndex(text, i);
          ranges.push([a, a + codePoints(s).length]);
          found = true;
          from = i + s.length;
        }
        if (!found) missing.push(s);
      });
      var hasCut = typeof cut === "number" && isFinite(cut);
      if (hasCut) cut = Math.max(0, Math.min(len, Math.floor(cut)));
      var stops = {0: 1};
      stops[len] = 1;
      if (hasCut) stops[cut] = 1;
      ranges.forEach(function (r) { stops[r[0]] = 1; stops[r[1]] = 1; });
      var pts = Object.keys(stops).map(Number).sort(function (a, b) { return a - b; });
      var cutDone = false;
      function marker() {
        var m = el("span", "cut-marker", "\u2702 cut here");
        m.title = "counterfactual cut at character " + cut + "; the text after it was resampled";
        pre.appendChild(m);
        cutDone = true;
      }
      for (var j = 0; j + 1 < pts.length; j++) {
        var s = pts[j], e = pts[j + 1];
        if (hasCut && !cutDone && s >= cut) marker();
        var inInj = ranges.some(function (r) { return r[0] <= s && e <= r[1]; });
        var after = hasCut && s >= cut;
        var piece = chars.slice(s, e).join("");
        if (!inInj && !after) { pre.appendChild(document.createTextNode(piece)); continue; }
        var cls = [inInj ? "injected" : "", after ? "after-cut" : ""].join(" ").trim();
        var span = el(inInj ? "mark" : "span", cls, piece);
        if (inInj) span.title = "injected sentence";
        pre.appendChild(span);
      }
      if (hasCut && !cutDone) marker();
      var wrap = el("div");
      wrap.appendChild(pre);
      missing.forEach(function (s) {
        var p = el("p", "note", "injected (not found verbatim in the reasoning): ");
        p.appendChild(el("mark", "injected", s));
        wrap.appendChild(p);
      });
      return wrap;
    }
    function prettyAction(a) {
      if (a === undefined || a === null) return "";
      if (typeof a !== "string") return JSON.stringify(a, null, 2);
      try { return JSON.stringify(JSON.parse(a), null, 2); } catch (e) { return a; }
    }
    function block(parent, title, text, cls) {
      if (text === undefined || text === null || text === "") return;
      parent.appendChild(el("h4", null, title));
      parent.appendChild(el("pre", cls || null, text));
    }
    function badge(parent, cls, text, title) {
      var b = el("span", "badge " + cls, text);
      if (title) b.title = title;
      parent.appendChild(b);
      return b;
    }
    function fillBody(div, t) {
      var grades = t.grades && typeof t.grades === "object" ? Object.keys(t.grades) : [];
      var info = el("p", "note");
      info.textContent = "category: " + str(t.category) + " \u00b7 scenario: " + str(t.scenario_id) +
        " \u00b7 escalated: " + yn(t.escalated) + " \u00b7 completed: " + yn(t.completed) +
        " \u00b7 aware: " + yn(t.aware);
      div.appendChild(info);
      if (grades.length) {
        div.appendChild(el("h4", null, "grades"));
        var g = el("p");
        grades.forEach(function (k) {
          var v = t.grades[k];
          badge(g, v === true ? "covert" : v === false ? "honest" : "", k + ": " +
                (typeof v === "object" ? JSON.stringify(v) : str(v)));
          g.appendChild(document.createTextNode(" "));
        });
        div.appendChild(g);
      }
      block(div, "system", t.system);
      block(div, "user", t.user);
      (t.turns || []).forEach(function (u, i) {
        var turn = el("div", "turn");
        var head = "turn " + (i + 1) + (typeof u.cut === "number" ? " \u00b7 counterfactual" : "");
        turn.appendChild(el("h4", null, head));
        if (u.reasoning !== undefined && u.reasoning !== null || typeof u.cut === "number") {
          turn.appendChild(el("h4", null, "reasoning"));
          turn.appendChild(reasoningNode(u.reasoning, u.cut, u.injected));
        }
        block(turn, "action", prettyAction(u.action));
        block(turn, "tool result", u.result);
        div.appendChild(turn);
      });
      block(div, "final message", t.final_message);
      if (t.evidence && t.evidence.length) {
        div.appendChild(el("h4", null, "evidence"));
        var ul = el("ul", "evidence");
        t.evidence.forEach(function (e) {
          ul.appendChild(el("li", null, typeof e === "string" ? e : JSON.stringify(e)));
        });
        div.appendChild(ul);
      }
      if (t.tags && t.tags.length) {
        div.appendChild(el("h4", null, "tags"));
        var tg = el("p");
        t.tags.forEach(function (x) { badge(tg, "", x); tg.appendChild(document.createTextNode(" ")); });
        div.appendChild(tg);
      }
    }
    function item(t) {
      var li = el("li"), d = el("details", "tx"), s = el("summary");
      li.dataset.family = str(t.family);
      li.dataset.model = str(t.model);
      badge(s, "model", t.model);
      badge(s, "family", t.family, t.category ? "category: " + t.category : "");
      if (t.cue !== undefined && t.cue !== null) badge(s, "cue", "cue: " + t.cue);
      badge(s, t.covert ? "covert" : "honest", t.covert ? "covert" : "honest");
      if (t.escalated) badge(s, "", "escalated");
      if (t.completed) badge(s, "", "completed");
      if (t.aware === true) badge(s, "aware", "eval-aware");
      (t.tags || []).forEach(function (x) { badge(s, "", x); });
      badge(s, "sid", t.scenario_id);
      d.appendChild(s);
      var filled = false, div = el("div", "tx-body");
      d.appendChild(div);
      d.addEventListener("toggle", function () { if (d.open && !filled) { filled = true; fillBody(div, t); } });
      li.appendChild(d);
      return {li: li, d: d};
    }

    function render() {
      Object.keys(famButtons).forEach(function (f) { famButtons[f].classList.toggle("active", f === state.family); });
      while (list.firstChild) list.removeChild(list.firstChild);
      var hits = data.filter(matches), frag = document.createDocumentFragment(), opened = [];
      hits.slice(0, shown).forEach(function (t) {
        var it = item(t);
        frag.appendChild(it.li);
        if (expandAll) opened.push(it.d);
      });
      list.appendChild(frag);
      opened.forEach(function (d) { d.open = true; });
      count.textContent = hits.length + " of " + data.length + " transcripts" +
        (hits.length > shown ? " (showing the first " + shown + ")" : "");
      more.hidden = hits.length <= shown;
    }
    more.addEventListener("click", function () { shown += PAGE; render(); });
    function applyHash() {  // #family=x&model=y&cue=&outcome=covert&aware=yes&q=text: links into the browser
      var h = hashParams(), any = false;
      Object.keys(state).forEach(function (k) {
        if (h[k] === undefined) return;
        any = true;
        state[k] = k === "q" ? h[k].trim().toLowerCase() : h[k];
        if (selects[k]) selects[k].value = h[k];
        if (k === "q") q.value = h[k];
      });
      return any;
    }
    var filtered = applyHash();
    render();
    if (filtered) document.getElementById("transcripts").scrollIntoView();
    window.addEventListener("hashchange", function () {
      if (!applyHash()) return;
      shown = expandAll ? Infinity : PAGE;
      render();
      document.getElementById("transcripts").scrollIntoView();
    });
    if (expandAll) {  // the toggle event is asynchronous: fill the bodies now, for readers and tests alike
      Array.prototype.forEach.call(list.querySelectorAll("details.tx"), function (d) {
        d.dispatchEvent(new Event("toggle"));
      });
    }
  } catch (err) {
    fail(err);
  }
  if (document.readyState === "complete") markReady();
  else window.addEventListener("load", markReady);
})();
"""
