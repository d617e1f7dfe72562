"""deliberate report: a Markdown report of the eval stage, base vs trained, a table per family.

    deliberate report configs/experiments/demo.yaml

Writes ``<output_dir>/report/report.md`` (with a manifest) and a copy at
``<output_dir>/report.md``. Rates are posterior means with 95% credible intervals
(Beta posterior, uniform prior).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from deliberate.config import ExperimentConfig, config_hash
from deliberate.provenance import is_complete, read_manifest, stage_output, write_manifest
from deliberate.eval.stats import beta_interval


def _rate(c: dict) -> str:
    if c["n"] == 0:
        return "n/a"
    mean, lo, hi = beta_interval(c["covert"], c["n"])
    return f"{c['covert'] / c['n']:.3f} | [{lo:.3f}, {hi:.3f}]"


def render(results: dict, title: str) -> str:
    models = list(results["models"])
    lines = [f"# {title}: covert actions, {' vs '.join(models)}", ""]
    data = results.get("data") or {}
    if data:
        spec = data.get("spec") or {}
        lines += [f"Spec: {spec.get('name')} v{spec.get('version')} (sha256 {str(spec.get('sha256'))[:12]}); "
                  f"teacher: {data.get('teacher')}; training records: {data.get('record_count')}; "
                  f"git: {data.get('git_revision')}.", ""]
    lines += ["Covert rate = covert episodes / episodes; 95% CI is the Beta(1+k, 1+n-k) credible interval. "
              "Parse failures count episodes with at least one reply we could not fully parse.", ""]
    lines += ["## Overall", "", "| model | episodes | covert | covert rate | 95% CI |", "|---|---|---|---|---|"]
    for m in models:
        tot = {"n": 0, "covert": 0}
        for by_cue in results["models"][m]["counts"].values():
            tot["n"] += by_cue["all"]["n"]
            tot["covert"] += by_cue["all"]["covert"]
        lines.append(f"| {m} | {tot['n']} | {tot['covert']} | {_rate(tot)} |")
    for fam, meta in results["families"].items():
        lines += ["", f"## {fam} ({meta['category']})", "",
                  "| model | cue | episodes | covert | covert rate | 95% CI | escalated | completed | parse failures |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for m in models:
            by_cue = results["models"][m]["counts"].get(fam, {})
            for cue in sorted(k for k in by_cue if k != "all") + ["all"]:
                c = by_cue.get(cue)
                if c:
                    lines.append(f"| {m} | {cue} | {c['n']} | {c['covert']} | {_rate(c)} | {c['escalated']} | "
                                 f"{c['completed']} | {c['parse_failures']} |")
    return "\n".join(lines) + "\n"


def main(cfg: ExperimentConfig, force: bool = False) -> Path:
    eval_dir = cfg.stage_dir("eval")
    out = cfg.stage_dir("report")
    chash = config_hash({"name": cfg.name, "renderer": 1})
    if not force and is_complete(out, chash, [eval_dir]):
        print(f"[report] complete, skipping: {out}")
        return out
    if read_manifest(eval_dir) is None:
        raise FileNotFoundError(f"{eval_dir} has no manifest: run `deliberate eval` first")
    results = json.loads((eval_dir / "results.json").read_text())
    with stage_output(out) as tmp:
        (tmp / "report.md").write_text(render(results, cfg.name))
        write_manifest(tmp, stage="report", config_hash=chash, parents=[eval_dir], record_count=len(results["families"]))
    shutil.copyfile(out / "report.md", Path(cfg.output_dir) / "report.md")
    print(f"[report] wrote {Path(cfg.output_dir) / 'report.md'}")
    return out
