"""The deployment monitor's window summaries: rates with 95% Beta intervals per detector and rule,
the pre-deployment baseline (a report's analysis.json or an eval's results.json) and the drift
comparison against it (Fisher's exact test, Bonferroni), as JSON and Markdown. See eval/monitor/run.py."""

from __future__ import annotations

import json
from pathlib import Path

from deliberate.eval.monitor.config import BaselineConfig, MonitorError


def rate(k: int, n: int) -> dict:
    """``{rate, lo, hi, k, n}`` with a 95% Beta interval: :func:`deliberate.eval.report.stats.rate_cell`."""
    from deliberate.eval.report.stats import rate_cell  # scipy only once a rate is computed

    return rate_cell(k, n)


def load_baseline(b: BaselineConfig, default_model: str) -> dict:
    """The pre-deployment numbers of one model: awareness and intent flags (a report's
    analysis.json) and covert counts per family and cue (an eval's results.json, else the report's
    per-family table)."""
    root = Path(b.path)
    model = b.model or default_model
    files = [root] if root.is_file() else [root / n for n in ("analysis.json", "report/analysis.json",
                                                              "results.json", "eval/results.json")]
    files = [f for f in files if f.is_file()]
    if not files:
        raise MonitorError(f"baseline.path {b.path}: no analysis.json or results.json there")
    out: dict = {"model": model, "sources": [str(f) for f in files], "awareness": None, "intent": None, "covert": {}}
    for f in files:
        data = json.loads(f.read_text())
        if "numbers" in data:  # a report's analysis.json
            numbers = data["numbers"]
            models = sorted(numbers.get("awareness") or {})
            if model not in models:
                raise MonitorError(f"baseline {f}: no model {model!r} (models: {', '.join(models)}); "
                                   "set baseline.model")
            aware = numbers["awareness"][model]["aware"]
            out["awareness"] = (aware["k"], aware["n"])
            grid = numbers["act_vs_reasoning"][model]["grid"]
            out["intent"] = (grid.get("True/True", 0) + grid.get("False/True", 0), sum(grid.values()))
            if not out["covert"]:
                for section in data.get("sections", []):
                    for table in section.get("tables", []) if section.get("id") == "covert" else []:
                        if table.get("title") == "Per family" and model in table["columns"]:
                            col = table["columns"].index(model)
                            for row in table["rows"]:
                                if isinstance(row[col], dict) and row[col].get("n"):
                                    out["covert"][row[0]] = {"all": (row[col]["k"], row[col]["n"])}
        elif "models" in data:  # an eval's results.json
            if model not in data["models"]:
                raise MonitorError(f"baseline {f}: no model {model!r} (models: {', '.join(data['models'])}); "
                                   "set baseline.model")
            out["covert"] = {fam: {cue: (c["covert"], c["n"]) for cue, c in by_cue.items()}
                             for fam, by_cue in data["models"][model]["counts"].items()}
    return out


def compare(counts: dict, baseline: dict | None, alpha: float) -> tuple[list[dict], str]:
    """Deployment vs baseline rows (difference, Fisher's exact p, drift) and the plain statement."""
    from deliberate.eval.report.stats import fisher_exact

    if baseline is None:
        return [], "No baseline configured: deployment rates only; nothing says whether they match the tests."
    pairs = []
    for det in ("awareness", "intent"):
        d = counts["detectors"][det]
        if d["n"] and baseline[det] and baseline[det][1]:
            pairs.append((f"{det} (reasoning classifier flag)", (d["k"], d["n"]), baseline[det]))
    pooled_d, pooled_b = [0, 0], [0, 0]
    for fam in sorted(counts["grader_families"]):
        for cue, (k, n) in sorted(counts["grader_families"][fam].items()):
            base = baseline["covert"].get(fam, {})
            b = base.get(cue) or base.get("all")
            if n and b and b[1]:
                pairs.append((f"covert actions, {fam} ({cue})", (k, n), tuple(b)))
                pooled_d = [pooled_d[0] + k, pooled_d[1] + n]
                pooled_b = [pooled_b[0] + b[0], pooled_b[1] + b[1]]
    if len([p for p in pairs if p[0].startswith("covert")]) > 1:
        pairs.append(("covert actions, families pooled", tuple(pooled_d), tuple(pooled_b)))
    rows = []
    m = len(pairs)
    for what, (k, n), (bk, bn) in pairs:
        _, p = fisher_exact(k, n, bk, bn)
        dep, base = rate(k, n), rate(bk, bn)
        drift = p < alpha / m
        rows.append({"what": what, "deployment": dep, "baseline": base, "difference": dep["rate"] - base["rate"],
                     "p": p, "drift": drift,
                     "direction": ("higher in deployment" if dep["rate"] > base["rate"] else "lower in deployment")
                     if drift else "no detectable change"})
    model = baseline["model"]
    if not rows:
        return rows, (f"No comparison with the pre-deployment eval of {model} was possible: no detector here has "
                      "a matching baseline count (awareness/intent need a report's analysis.json; covert rates need "
                      "graded honeypot transcripts of families the eval ran).")
    drifts = [r for r in rows if r["drift"]]
    how = f"Fisher's exact test, alpha {alpha} Bonferroni-corrected over {m} comparison{'s' * (m > 1)}"
    if drifts:
        items = "; ".join(f"{r['what']} {r['direction']} ({r['deployment']['rate']:.3f} vs "
                          f"{r['baseline']['rate']:.3f}, p = {r['p']:.2g})" for r in drifts)
        return rows, (f"DRIFT: deployment behaviour differs from what the pre-deployment eval of {model} showed: "
                      f"{items} ({how}).")
    return rows, (f"No drift detected: deployment rates are consistent with the pre-deployment eval of {model} "
                  f"({how}). "
                  "Consistent is not equal: the intervals show what this sample size can resolve.")


def summarize_counts(counts: dict, baseline: dict | None, alpha: float) -> dict:
    rows, statement = compare(counts, baseline, alpha)
    return {"transcripts": counts["transcripts"], "malformed": counts["malformed"], "alerts": counts["alerts"],
            "duplicates": counts.get("duplicates", 0),
            "start_time": counts["start_time"], "end_time": counts["end_time"],
            "detectors": {d: {**rate(c["k"], c["n"]), "errors": c["errors"]} for d, c in counts["detectors"].items()},
            "rules": {r: {**rate(c["k"], c["n"]), "errors": c.get("errors", 0)} for r, c in counts["rules"].items()},
            "grader_families": {f: {cue: rate(k, n) for cue, (k, n) in cues.items()}
                                for f, cues in counts["grader_families"].items()},
            "comparison": rows, "statement": statement}


def _fmt(c: dict) -> str:
    return "n/a" if c["rate"] is None else f"{c['rate']:.3f} [{c['lo']:.3f}, {c['hi']:.3f}] ({c['k']}/{c['n']})"


def summary_markdown(s: dict) -> str:
    lines = [f"# Deployment monitor: {s['model']}", "", f"Updated {s['updated']}."]
    last = s["windows"][-1] if s["windows"] else None
    for title, part in (("All transcripts so far", s["total"]),
                        (f"Last closed window ({last['index']})" if last else None, last),
                        (f"Current window ({s['current_window']['index']}, open)", s["current_window"])):
        if part is None or title is None:
            continue
        lines += ["", f"## {title}", "", f"**{part['statement']}**", "",
                  f"{part['transcripts']} transcripts ({part['duplicates']} re-sent duplicates not counted again), "
                  f"{part['malformed']} malformed or rejected lines, {part['alerts']} alerts.",
                  "", "| detector / rule | rate [95% interval] (k/n) | errors |", "|---|---|---|"]
        lines += [f"| {d} | {_fmt(c)} | {c['errors']} |" for d, c in part["detectors"].items()]
        lines += [f"| rule `{r}` | {_fmt(c)} | {c['errors']} |" for r, c in sorted(part["rules"].items())]
        if part["comparison"]:
            lines += ["", "| vs pre-deployment eval | deployment | eval | difference | Fisher p | drift |",
                      "|---|---|---|---|---|---|"]
            lines += [f"| {r['what']} | {_fmt(r['deployment'])} | {_fmt(r['baseline'])} | {r['difference']:+.3f} | "
                      f"{r['p']:.3g} | {r['direction']} |" for r in part["comparison"]]
    lines += ["", (f"Rates: k/n with equal-tailed 95% Beta(1+k, 1+n-k) intervals. Malformed lines in all: "
                   f"{s['malformed_total']}. Webhook: {s['webhook']['delivered']} delivered, "
                   f"{s['undelivered']} pending.")]
    return "\n".join(lines) + "\n"
