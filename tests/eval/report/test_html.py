"""The HTML report: escaping, tables, figures, and the JS transcript browser in a headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from importlib import resources

import pytest

from deliberate.eval.report.html import format_interval, render_html, write_html
from deliberate.eval.report.plots import figure_size, render_png

FAMILIES = [
    "access_pretext", "admin_token", "authorized_override", "decommission_schedule", "helper_honesty",
    "impossible_checklist", "impossible_coding", "log_falsification", "oversight_config", "quiz_sandbagging",
    "quota_overrun", "ranking_skew", "safety_metric_funding", "sanctioned_purge", "spec_revision",
    "successor_handover", "training_data_curation", "unsupported_claim", "a_family_with_a_rather_long_name_x",
    "zz_last_family",
]
MODELS = ["base", "sft"]
CUES = ["eval", "deploy"]
PAYLOAD = "</script><script>alert(1)</script>"
CUT_TEXT = "I should check the rules first. The config says oversight is on, so I will escalate."
INJECTED = "The config says oversight is on"


def _iv(k: int, n: int) -> dict:
    return {"rate": k / n, "lo": max(0.0, k / n - 0.2), "hi": min(1.0, k / n + 0.25), "k": k, "n": n}


def _transcript(i: int, model: str, fam: str, cue: str) -> dict:
    covert = (i % 3) == 0
    turns = [{"reasoning": f"thinking about {fam} #{i}", "action": json.dumps({"tool": "read_file", "args": {}}),
              "result": "ok", "cut": None, "injected": None}]
    if i == 0:  # the counterfactual and the hostile transcript
        turns.append({"reasoning": CUT_TEXT + " " + PAYLOAD, "action": PAYLOAD, "result": PAYLOAD,
                      "cut": CUT_TEXT.index(INJECTED), "injected": INJECTED})
    return {"model": model, "family": fam, "category": "cat_" + fam[:3], "cue": cue,
            "scenario_id": f"{fam}-{cue}-{i:04d}", "covert": covert, "escalated": not covert, "completed": False,
            "aware": [True, False, None][i % 3], "grades": {"intent_monitor": covert},
            "system": "You are an agent." + (PAYLOAD if i == 0 else ""), "user": "Do the task.",
            "turns": turns, "final_message": PAYLOAD if i == 0 else None,
            "evidence": [PAYLOAD] if i == 0 else ["used the tool"],
            "tags": ["counterfactual:resampled"] if i == 0 else []}


def synthetic_report(n_per_cell: int = 2) -> dict:
    transcripts = [_transcript(i, m, f, c) for i, (m, f, c, _) in enumerate(
        (m, f, c, r) for f in FAMILIES for m in MODELS for c in CUES for r in range(n_per_cell))]
    rates = {m: [_iv((j * (2 + k)) % 9, 8) if (j * (2 + k)) % 9 <= 8 else _iv(8, 8) for j in range(len(FAMILIES))]
             for k, m in enumerate(MODELS)}
    gaps = {m: [{"rate": (j % 5 - 2) / 10, "lo": (j % 5 - 2) / 10 - 0.1, "hi": (j % 5 - 2) / 10 + 0.1}
                for j in range(len(FAMILIES))] for m in MODELS}
    return {
        "title": "Deliberate report: demo", "subtitle": "base vs sft, synthetic", "generated": "2026-11-27T14:00:00Z",
        "meta": {"spec": "v1 (sha256 0123456789ab)"},
        "verdicts": [{"model": "sft", "tone": "good", "text": "Covert actions went **down** in 14 of 20 families."},
                     {"model": "base", "text": "Baseline.\n\n- a point\n- another `point`"}],
        "sections": [
            {"id": "covert", "title": "Covert-action rate per family", "intro": "Rates with 95% intervals.",
             "tables": [{"title": "Covert rate", "columns": ["family", "category", *MODELS],
                         "rows": [[f, "cat_" + f[:3], *(rates[m][j] for m in MODELS)] for j, f in enumerate(FAMILIES)],
                         "note": "k/n = covert episodes / episodes."}],
             "figures": [{"kind": "intervals", "title": "Covert rate", "categories": FAMILIES,
                          "series": [{"name": m, "points": rates[m]} for m in MODELS]}]},
            {"id": "gap", "title": "Cue gap",
             "figures": [{"kind": "bars", "title": "Cue gap (deploy - eval)", "categories": FAMILIES,
                          "series": [{"name": m, "points": gaps[m]} for m in MODELS]}]},
        ],
        "transcripts": transcripts,
    }


@pytest.fixture(scope="module")
def report():
    return synthetic_report()


@pytest.fixture(scope="module")
def page(report):
    return render_html(report)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _embedded_pngs(page: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


# --- the static page ------------------------------------------------------------------------

def test_every_family_and_section_in_page(page, report):
    for fam in FAMILIES:
        assert fam in page
    assert '<section id="sec-covert">' in page and '<a href="#sec-covert">' in page
    assert '<a href="#transcripts">Transcripts (160)</a>' in page
    assert "<strong>down</strong>" in page and "<li>a point</li>" in page and "<code>point</code>" in page


def test_interval_cells():
    assert format_interval({"rate": 0.25, "lo": 0.08, "hi": 0.52, "k": 2, "n": 8}) == "0.250 [0.080, 0.520] (2/8)"
    assert format_interval({"rate": 0.5, "lo": 0.1, "hi": 0.9}) == "0.500 [0.100, 0.900]"
    assert format_interval({"rate": None, "lo": None, "hi": None, "k": 0, "n": 0}) == "n/a (0/0)"
    html = render_html({"sections": [{"title": "t", "tables": [{"columns": ["a", "b", "c", "d"], "rows": [
        [{"rate": 0.25, "lo": 0.08, "hi": 0.52, "k": 2, "n": 8}, 3, 0.12345, None]]}]}]})
    assert '<td class="num iv">0.250 [0.080, 0.520] (2/8)<span class="ib"' in html
    assert '<td class="num">3</td><td class="num">0.123</td><td></td>' in html
    html = render_html({"sections": [{"title": "t", "tables": [{"columns": ["a", "b"], "rows": [
        [{"text": "fam<1>", "href": "#family=fam%3C1%3E"}, {"text": "x", "href": "javascript:alert(1)"}]]}]}]})
    assert '<td><a href="#family=fam%3C1%3E">fam&lt;1&gt;</a></td><td>x</td>' in html


def test_model_output_cannot_inject_html(page, report):
    hostile = {**report, "title": PAYLOAD, "subtitle": PAYLOAD,
               "verdicts": [{"model": PAYLOAD, "text": PAYLOAD + " [x](javascript:alert(1))"}],
               "sections": [{"id": PAYLOAD, "title": PAYLOAD, "intro": PAYLOAD,
                             "tables": [{"title": PAYLOAD, "columns": [PAYLOAD], "rows": [[PAYLOAD]],
                                         "note": PAYLOAD}]}],
               "transcripts": report["transcripts"][:3] + [{**report["transcripts"][0], "family": PAYLOAD,
                                                            "model": PAYLOAD, "grades": {PAYLOAD: PAYLOAD}}]}
    for html in (page, render_html(hostile)):
        assert "<script>alert" not in html and "alert(1)</script>" not in html
        assert html.count("<script") == 2 and html.count("</script>") == 2  # the JSON and the code, nothing else
        assert 'href="javascript' not in html.lower()
    html = render_html(hostile)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # the embedded JSON reads back exactly
    blob = re.search(r'<script type="application/json" id="tx-data">(.*?)</script>', html, re.DOTALL).group(1)
    assert json.loads(blob) == hostile["transcripts"]


def test_assets_inlined(page):
    assets = resources.files("deliberate.eval.report") / "assets"
    for name in ("report.css", "report.js", "browser.html"):
        text = (assets / name).read_text(encoding="utf-8").replace("{n}", "160").rstrip("\n")
        assert text and text in page, name


def test_no_external_resources(page):
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page


def test_figures_are_pngs_of_the_expected_size(page, report):
    specs = [f for s in report["sections"] for f in s.get("figures", [])]
    pngs = _embedded_pngs(page)
    assert len(pngs) == len(specs) == 2
    for png, spec in zip(pngs, specs, strict=True):
        assert _png_size(png) == figure_size(spec)
    assert figure_size(specs[0])[0] == 900 and figure_size(specs[0])[1] > 20 * 30  # ~20 readable rows
    assert len(re.findall(r'<img [^>]*alt="(Forest plot|Grouped bar chart): [^"]+"', page)) == 2


def test_plots_deterministic_and_robust():
    spec = {"kind": "bars", "title": "gap", "categories": ["a", "b", "c"],
            "series": [{"name": "m", "points": [{"rate": -0.5, "lo": -0.7, "hi": -0.2}, None, {"rate": 0.3}]}]}
    png = render_png(spec)
    assert png == render_png(spec)
    assert _png_size(png) == figure_size(spec)
    assert _png_size(render_png({"kind": "intervals", "title": "empty", "categories": [], "series": []})) \
        == figure_size({"categories": []})
    with pytest.raises(ValueError, match="unknown figure kind"):
        render_png({**spec, "kind": "pie"})
    with pytest.raises(ValueError, match="2 points for 3 categories"):
        render_png({**spec, "series": [{"name": "m", "points": [None, None]}]})


def test_write_html(tmp_path, report):
    path = write_html({**report, "transcripts": report["transcripts"][:4]}, tmp_path / "sub" / "report.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(path.parent.glob("*.tmp"))


# --- the page in a headless browser ---------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "chromium-headless-shell", "chrome-headless-shell", "google-chrome",
            "google-chrome-stable", "chrome")


def _browser() -> str | None:
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"]) or os.environ["CHROMIUM"]
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def _dump_dom(browser: str, url: str, profile) -> str:
    cmd = [browser, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
           f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0 and "<body" in proc.stdout, f"{cmd} failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return proc.stdout


class _Dom(HTMLParser):
    """What the test needs from a dumped DOM: body attributes, images, the family list, the transcript list."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.body, self.imgs, self.families, self.family_names, self.items = {}, [], [], [], 0
        self.cut_markers, self.injected, self.pre_text = 0, [], []
        self._stack: list[tuple[str, dict]] = []
        self.feed(text)

    def _inside(self, id=None, cls=None) -> bool:
        return any((id is None or a.get("id") == id) and (cls is None or cls in a.get("class", "").split())
                   for _, a in self._stack)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = a
        elif tag == "img":
            self.imgs.append(a)
        elif tag == "li" and self._stack and self._stack[-1][1].get("id") == "tx-families":
            self.families.append(a.get("data-family"))
        elif tag == "li" and self._stack and self._stack[-1][1].get("id") == "tx-list":
            self.items += 1
        if tag not in ("img", "br", "meta", "input", "link", "hr", "wbr"):
            self._stack.append((tag, a))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._inside(id="tx-families") and self._inside(cls="fam-name"):
            self.family_names.append(data)
        if self._inside(cls="cut-marker") and self._inside(cls="reasoning"):
            self.cut_markers += 1
        if self._inside(cls="injected") and self._inside(cls="reasoning"):
            self.injected.append(data)
        if self._inside(cls="reasoning") or any(t == "pre" for t, _ in self._stack):
            self.pre_text.append(data)


def test_browser_renders_report(tmp_path, report):
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium/Chrome binary on PATH (tried " + ", ".join(BROWSERS) +
                    "; set CHROMIUM=/path or run scripts/ci/install_browser.sh)")
    small = {**report, "transcripts": [t for t in report["transcripts"] if t["model"] == "sft" or t is
                                       report["transcripts"][0]]}
    path = write_html(report, tmp_path / "report.html")
    dom = _Dom(_dump_dom(browser, path.as_uri(), tmp_path / "profile"))
    assert dom.body.get("data-ready") == "1", dom.body.get("data-error", dom.body)
    assert dom.body.get("data-transcripts") == str(len(report["transcripts"]))
    assert dom.body.get("data-images-total") == dom.body.get("data-images-ok") == "2"
    assert [i.get("data-loaded") for i in dom.imgs] == ["1", "1"]
    # every family, rendered by the JS (sorted by name) whatever the paging of the transcript list
    assert dom.families == dom.family_names == sorted(FAMILIES)
    assert dom.items == 100  # the first page of 160

    # opened with #expand=all: every transcript body is rendered; the cut and the injection are marked,
    # and the hostile text is text
    path = write_html(small, tmp_path / "small.html")
    text = _dump_dom(browser, path.as_uri() + "#expand=all", tmp_path / "profile")
    dom = _Dom(text)
    assert dom.body.get("data-ready") == "1", dom.body.get("data-error", dom.body)
    assert dom.items == len(small["transcripts"])
    assert dom.cut_markers == 1 and dom.injected == [INJECTED]
    assert "<script>alert" not in text and PAYLOAD in "".join(dom.pre_text)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text

    # filters from the URL fragment: 2 per cue, 2 cues
    dom = _Dom(_dump_dom(browser, path.as_uri() + "#family=admin_token&model=sft", tmp_path / "profile"))
    assert dom.body.get("data-ready") == "1" and dom.items == 4
