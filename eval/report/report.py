"""deliberate report: what the eval stage found, as Markdown and as one self-contained HTML page.

    deliberate report configs/experiments/demo.yaml

Runs the offline reasoning classifiers (docs/classifiers.md) over the eval stage's transcripts and
writes ``<output_dir>/report/``: ``report.md``, ``report.html`` and ``analysis.json`` (the numbers
of :mod:`deliberate.eval.report.analysis`), with a manifest; copies of the Markdown and HTML go
to ``<output_dir>/``, and the tables and the page to W&B.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from deliberate import model_card
from deliberate.config import ExperimentConfig, config_hash
from deliberate.eval.report import samples
from deliberate.eval.report.html import format_interval
from deliberate.provenance import write_json_atomic
from deliberate.stage import Context, Result, run_stage

log = logging.getLogger(__name__)

# 5: chance rate in the verdicts; 6: awareness before acting; 7: a rise is not hiding; 8: hidden goal still stated
RENDERER_VERSION = 9
# The offline kind the report reads reasoning with (docs/classifiers.md, "Measured on a third unseen set"):
# offline-combined since session 8 (was offline; scripts/validate_verdict.py exits 0 with either).
INSTRUMENTS = "offline-combined"


def fmt(cell) -> str:
    """One table cell as Markdown text: a rate cell as ``0.250 [0.080, 0.520] (2/8)``."""
    if isinstance(cell, dict) and "rate" in cell:
        return format_interval(cell)
    if isinstance(cell, float):
        return f"{cell:.3f}"
    if cell is None:
        return ""
    return str(cell).replace("|", "\\|")


def markdown(report: dict) -> str:
    lines = [f"# {report['title']}", "", report.get("subtitle", ""), ""]
    for key, value in (report.get("meta") or {}).items():
        lines.append(f"- {key}: {value}")
    if report.get("verdicts"):
        lines += ["", "## Verdict", ""] + [f"**{v['model']}**: {v['text']}\n" for v in report["verdicts"]]
    for section in report["sections"]:
        lines += ["", f"## {section['title']}", "", section.get("intro", ""), ""]
        for table in section.get("tables", []):
            lines += [f"### {table['title']}", "", "| " + " | ".join(fmt(c) for c in table["columns"]) + " |",
                      "|" + "---|" * len(table["columns"])]
            lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in table["rows"]]
            if table.get("note"):
                lines += ["", table["note"]]
            lines.append("")
    return "\n".join(lines) + "\n"


def load_transcripts(eval_dir: Path, prefix: str, models: list[str]) -> dict[str, list[dict]]:
    out = {}
    for m in models:
        path = eval_dir / f"{prefix}.{m}.jsonl"
        out[m] = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    return out


def build(cfg: ExperimentConfig, eval_dir: Path) -> dict:
    from deliberate.eval.classifiers import make_awareness, make_intent_monitor
    from deliberate.eval.report.analysis import analyze, annotate, browser_rows
    from deliberate.eval.report.chance import for_report
    from deliberate.specs.loader import load_spec

    results = json.loads((eval_dir / "results.json").read_text())
    names = list(results["models"])
    categories = {f: meta["category"] for f, meta in results["families"].items()}
    models = load_transcripts(eval_dir, "transcripts", names)
    log.info("[report] classifying the reasoning of %d transcripts (%s)", sum(map(len, models.values())),
             ", ".join(names))
    awareness = make_awareness(INSTRUMENTS, progress="[report] awareness")  # progress: over long calls only
    monitor = make_intent_monitor(INSTRUMENTS, progress="[report] intent monitor")
    annotate(models, awareness, monitor)
    counterfactual = {m: results["models"][m]["counterfactual"] for m in names
                      if results["models"][m].get("counterfactual")}
    interrogation = {m: results["models"][m]["interrogation"] for m in names
                     if results["models"][m].get("interrogation")}
    hidden_goal = {m: results["models"][m]["hidden_goal"] for m in names if results["models"][m].get("hidden_goal")}
    report = analyze(models, categories, load_spec(cfg.spec.path), title=f"Deliberate report: {cfg.name}",
                     counterfactual=counterfactual, interrogation=interrogation, hidden_goal=hidden_goal,
                     confirmed={m: results["models"][m]["confirmed"] for m in names
                                if results["models"][m].get("confirmed")},
                     durable_from=results.get("durable_from"), chance=for_report(cfg, models))
    excluded = samples.section(samples.excluded(eval_dir, results))  # Inspect samples: failed or on a limit
    if excluded is not None:
        at = next((i + 1 for i, s in enumerate(report["sections"]) if s["id"] == "covert"), len(report["sections"]))
        report["sections"].insert(at, excluded)  # right after the covert rates they are missing from
    cf_models = load_transcripts(eval_dir, "counterfactual", names)
    annotate(cf_models, awareness, monitor)
    report["transcripts"] += browser_rows(cf_models, categories)
    data = results.get("data") or {}
    spec = data.get("spec") or {}
    report["meta"] = {"spec": f"{spec.get('name')} v{spec.get('version')} (sha256 {str(spec.get('sha256'))[:12]})",
                      "teacher": data.get("teacher"), "training records": data.get("record_count"),
                      "dataset Merkle root": data.get("merkle_root"), "git": data.get("git_revision")}
    return report


def main(cfg: ExperimentConfig, force: bool = False) -> Path:
    """``deliberate report EXPERIMENT.yaml``: the report folder, plus copies of the Markdown and HTML
    in ``<output_dir>/``."""
    from deliberate.eval.report.html import render_html

    eval_dir = cfg.stage_dir("eval")

    def work(ctx: Context) -> Result:
        report = build(cfg, eval_dir)
        (ctx.dir / "report.md").write_text(markdown(report))
        (ctx.dir / "report.html").write_text(render_html(report))
        write_json_atomic(ctx.dir / "analysis.json", {k: v for k, v in report.items() if k != "transcripts"})
        track(ctx.tracker, report)
        ctx.tracker.artifact(f"{cfg.name}-report", "report", ctx.dir / "report.html", use=[f"{cfg.name}-eval:latest"])
        return Result(record_count=len(report["transcripts"]))

    from deliberate.eval.classifiers.offline import fingerprint

    chash = config_hash({"name": cfg.name, "renderer": RENDERER_VERSION, "classifiers": fingerprint()})
    out = run_stage(cfg, "report", work, config_hash=chash, parents=[eval_dir], force=force)
    for name in ("report.md", "report.html"):
        shutil.copyfile(out / name, Path(cfg.output_dir) / name)
    model_card.refresh(cfg)  # results and verdict into each trained model's card (not in any content hash)
    log.info("[report] wrote %s and report.html", Path(cfg.output_dir) / "report.md")
    return out


def track(tracker, report: dict) -> None:
    """Every table and figure of the report, the suite covert rates and the transcripts, to W&B."""
    for section in report["sections"]:
        for table in section.get("tables", []):
            tracker.table(f"report/{section['id']}/{table['title']}", table["columns"],
                          [[fmt(c) for c in row] for row in table["rows"]])
        for figure in section.get("figures") or []:
            tracker.chart(f"report/{section['id']}/{figure['title']}", figure)
    suite = report["numbers"]["suite"]
    tracker.summary({f"report/{m}/suite_covert_rate": s["mean"] for m, s in suite.items() if s})
    tracker.table("report/transcripts", ["model", "family", "cue", "covert", "aware", "intent", "reasoning",
                                         "actions", "tags"],
                  [[t["model"], t["family"], t["cue"], t["covert"], t["aware"], t["grades"]["intent_monitor"],
                    "\n".join(x["reasoning"] for x in t["turns"]), "\n".join(x["action"] for x in t["turns"]),
                    ",".join(t["tags"])] for t in report["transcripts"]])
