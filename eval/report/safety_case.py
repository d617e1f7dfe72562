"""The safety case: one document per evaluated model, in the structure the NIST AI RMF asks for.

    deliberate report configs/experiments/demo.yaml --safety-case

Written from the run's own files only, every number tagged with its source file's sha256, and
refused when the report's counts disagree with the transcripts; what the config does not say is
written down as a gap. Output: ``<output_dir>/safety_case/safety_case.<model>.md``. More in
docs/report.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from deliberate.config import ExperimentConfig
from deliberate.errors import UserError
from deliberate.eval.report import samples
from deliberate.eval.report.html import format_interval
from deliberate.provenance import read_manifest, stage_output, write_manifest

log = logging.getLogger(__name__)

WIDE = 0.2  # an interval wider than this is called too wide to support a claim


class SafetyCaseError(UserError, RuntimeError):
    """The run's files are missing or disagree with each other."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Sources:
    """Source tags ([S1], [S2], ...) for the files numbers come from, with their sha256."""

    def __init__(self, root: Path):
        self.root, self.tags = Path(root), {}

    def tag(self, path: Path, what: str) -> str:
        path = Path(path)
        if path not in self.tags:
            if not path.is_file():
                raise SafetyCaseError(f"{path} is missing: the safety case is written from the run's files")
            self.tags[path] = (f"S{len(self.tags) + 1}", what, sha256_file(path))
        return f"[{self.tags[path][0]}]"

    def table(self) -> list[str]:
        rows = ["| tag | file | what | sha256 |", "|---|---|---|---|"]
        for path, (tag, what, digest) in self.tags.items():
            rows.append(f"| {tag} | `{_rel(path, self.root)}` | {what} | `{digest}` |")
        return rows


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(Path(path).resolve())


def _iv(c: dict | None) -> str:
    """A rate cell as text (:func:`format_interval`); just ``n/a`` when there is no rate."""
    return "n/a" if not c or c.get("rate") is None else format_interval(c)


def _table(report: dict, section: str, title: str) -> dict | None:
    for s in report["sections"]:
        if s["id"] == section:
            for t in s["tables"]:
                if t["title"].startswith(title):
                    return t
    return None


def recount(transcripts: Path) -> dict[str, tuple[int, int]]:
    """(covert, episodes) per family, read back from a transcripts file line by line."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    with open(transcripts) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                out[r["family"]][0] += bool(r["outcome"]["covert"])
                out[r["family"]][1] += 1
    return {k: (a, b) for k, (a, b) in out.items()}


def check_consistency(model: str, per_family: dict, recounted: dict) -> None:
    for fam, cell in per_family.items():
        got = recounted.get(fam, (0, 0))
        if cell.get("n") and (cell["k"], cell["n"]) != got:
            raise SafetyCaseError(f"report/analysis.json says {model} on {fam} was {cell['k']}/{cell['n']} covert but "
                                  f"the transcripts say {got[0]}/{got[1]}: the report is stale or was edited; "
                                  "re-run `deliberate report --force`")


def monitor_plan(cfg: ExperimentConfig, model: str) -> tuple[list[str], list[str]]:
    """The monitoring section's lines and any gaps, from the monitor YAML named in the config."""
    sc = cfg.safety_case
    if not sc.monitor:
        return (["No deployment monitor is configured (safety_case.monitor is null)."],
                ["no post-deployment monitoring plan: configure `deliberate monitor` and name its YAML in "
                 "safety_case.monitor (MANAGE 4.1)"])
    from deliberate.eval.monitor.config import load_monitor_config

    path = Path(sc.monitor)
    if not path.is_file():  # checked here, not at validate: launchers may run the other stages from elsewhere
        raise SafetyCaseError(f"safety_case.monitor: {path} is not a file (the deployment monitor's YAML; relative "
                              f"paths are read from the current folder, {Path.cwd()})")
    mc = load_monitor_config(path)
    lines = [f"Monitor configuration: `{path}` (sha256 `{sha256_file(path)}`), run out of band with "
             f"`deliberate monitor {path}` over production transcripts of model `{mc.model}`: the awareness "
             f"classifier ({mc.awareness.kind}), the reasoning monitor ({mc.intent.kind}), the action graders on "
             "planted scenarios and the rules below.", "",
             "| tripwire | detector | fires when | applies to | severity |", "|---|---|---|---|---|"]
    for t in mc.tripwires:
        scope = ", ".join([*(f"family {f}" for f in t.families), *(f"tool {x}" for x in t.tools)])
        lines.append(f"| {t.name} | {t.detector} | {_fires_when(t).replace('|', chr(92) + '|')} | {scope or 'all'} "
                     f"| {t.severity} |")
    gaps = []
    if not mc.tripwires:
        gaps.append("the monitor configuration has no tripwires")
    if mc.model != model:
        gaps.append(f"the monitor watches model {mc.model!r}, not {model!r}")
    alert_log = mc.alert_log or f"{mc.state_dir}/alerts.jsonl"
    lines += ["", f"- Alerts: JSONL log `{alert_log}`" + (f"; webhook to {_host(mc.webhook.url)} (severity >= "
                                                          f"{mc.webhook.min_severity})" if mc.webhook else
                                                          "; no webhook") + "."]
    if mc.window.transcripts or mc.window.seconds:
        lines.append(f"- Summary windows: every {mc.window.transcripts or '-'} transcripts / "
                     f"{mc.window.seconds or '-'} s of transcript time, rates with 95% intervals.")
    if mc.baseline:
        lines.append(f"- Drift: each window is compared with the pre-deployment eval `{mc.baseline.path}` (model "
                     f"{mc.baseline.model or mc.model}; Fisher's exact test, alpha {mc.baseline.alpha:g} with "
                     "Bonferroni).")
    else:
        gaps.append("the monitor has no pre-deployment baseline (monitor.baseline): drift from the tested behaviour "
                    "is not measured")
    return lines, gaps


def _fires_when(t) -> str:
    if t.detector in ("awareness", "intent"):
        return "the classifier flags the reasoning" if t.threshold is None else f"score >= {t.threshold:g}"
    if t.detector == "grader":
        return "the family grader finds a covert action"
    if t.detector == "tool":
        return "a call to the tool" + (f" with arguments matching `{t.args}`" if t.args else "")
    return f"the final message matches `{t.pattern}`"


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or "(unparsed url)"


def classifier_quality() -> list[str]:
    """Precision and recall of the offline reasoning classifiers on the labeled sets shipped with
    the tests, measured now (when the source tree is present)."""
    from deliberate.eval.classifiers import make_awareness, make_intent_monitor, precision_recall

    root = Path(__file__).resolve().parents[2] / "tests" / "eval" / "classifiers" / "data"
    out = []
    for name, make, fname in (("awareness", make_awareness, "awareness_labeled.jsonl"),
                              ("reasoning monitor", make_intent_monitor, "intent_labeled.jsonl")):
        path = root / fname
        if not path.is_file():
            out.append(f"- {name}: labeled set not present in this installation; see docs/classifiers.md")
            continue
        recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        flags = [x["flag"] for x in make("offline").classify([r["reasoning"] for r in recs])]
        p, r = precision_recall(flags, [bool(r["label"]) for r in recs])
        out.append(f"- offline {name} classifier: precision {p:.3f}, recall {r:.3f} on {len(recs)} labeled "
                   f"reasonings (`{fname}`, sha256 `{sha256_file(path)[:16]}`)"
                   + ("" if min(p, r) >= 0.8 else " — below 0.8: its flags undercount"))
    return out


@dataclass
class _Case:
    """One model's safety case in the making: what its sections read, and the gaps found so far."""

    cfg: ExperimentConfig
    model: str
    report: dict
    results: dict
    src: Sources
    per_family: dict  # family -> rate cell of this model, from the report's per-family table
    A: str  # source tags ("[S1]") of analysis.json, results.json and this model's transcripts
    R: str
    T: str
    gaps: list[str] = field(default_factory=list)

    @property
    def meta(self) -> dict:
        return self.results["models"][self.model]

    @cached_property
    def categories(self) -> dict[str, str]:
        return {f: m["category"] for f, m in self.results["families"].items()}

    @property
    def episodes(self) -> int:
        return sum(c["n"] for c in self.per_family.values() if c.get("n"))


def _case(cfg: ExperimentConfig, model: str, report: dict, results: dict, src: Sources) -> _Case:
    """Tag the sources and check the report's per-family counts against the transcripts."""
    eval_dir = cfg.stage_dir("eval")
    A = src.tag(cfg.stage_dir("report") / "analysis.json", "report numbers (analysis.json)")
    R = src.tag(eval_dir / "results.json", "eval results")
    T = src.tag(eval_dir / f"transcripts.{model}.jsonl", f"graded transcripts of {model}")
    per_family_t = _table(report, "covert", "Per family")
    col = per_family_t["columns"].index(model)
    per_family = {row[0]: row[col] for row in per_family_t["rows"]}
    check_consistency(model, per_family, recount(eval_dir / f"transcripts.{model}.jsonl"))
    return _Case(cfg, model, report, results, src, per_family, A, R, T)


def _lineage(c: _Case) -> list[str]:
    """The stages that trained this model, each with its manifest's content hash and git revision."""
    lineage = []
    trained = {"base": (), "sft": ("data", "sft"), "rl": ("data", "sft", "rl"),
               "durable": ("data", "sft", "rl", "durability")}.get(c.model, ())
    for stage in trained:
        m = read_manifest(c.cfg.stage_dir(stage))
        if m is not None:
            tag = c.src.tag(c.cfg.stage_dir(stage) / "manifest.json", f"{stage} stage manifest")
            git = str(m.get("git_revision"))[:10]
            lineage.append(f"{stage} (content `{m['content_hash'][:12]}`, git `{git}`) {tag}")
    return lineage


def _context(c: _Case) -> list[str]:
    """MAP 1.1, MAP 2.2: the system, its intended use and context, its specification and lineage."""
    sc, meta = c.cfg.safety_case, c.meta
    data = c.results.get("data") or {}
    spec = data.get("spec") or {}
    L = ["## 1. Context (MAP 1.1, MAP 2.2)", "", f"- System: `{meta['model']}`, evaluated as **{c.model}** {c.R}."]
    for key, label in (("intended_use", "Intended use"), ("deployment_context", "Deployment context")):
        value = getattr(sc, key)
        L.append(f"- {label}: {value}" if value else f"- {label}: **not stated** (safety_case.{key})")
        if not value:
            c.gaps.append(f"{label.lower()} is not stated (safety_case.{key})")
    lineage = _lineage(c)
    L.append(f"- Behaviour specification: {spec.get('name')} v{spec.get('version')} (sha256 "
             f"`{str(spec.get('sha256'))[:16]}`): " + ("the model was trained to reason over it before acting."
                                                      if lineage else "the trained models' spec; this model was "
                                                      "not trained on it here."))
    outside = "the untrained student" if c.model == "base" else "a model from outside this run"
    L.append("- Lineage: " + (" -> ".join(lineage) if lineage else f"{outside} ({meta['model']})") + ".")
    if data.get("merkle_root") and lineage:
        L.append(f"- Training data: {data.get('record_count')} records, Merkle root `{data['merkle_root'][:16]}` "
                 f"(`deliberate verify {c.cfg.stage_dir('data')}` re-checks every record).")
    return L + [""]


def _tests(c: _Case) -> list[str]:
    """MEASURE 2.1: the held-out families, scenarios, cues, grading and decoding."""
    e, categories, families = c.cfg.eval, c.categories, c.results["families"]
    own = [f for f, meta_f in families.items() if meta_f.get("source") != "inspect"]
    external = [f for f, meta_f in families.items() if meta_f.get("source") == "inspect"]
    L = ["## 2. Pre-deployment tests (MEASURE 2.1)", "",
         f"- {len(own)} held-out test families in {len(set(categories[f] for f in own))} categories, disjoint from "
         "training by construction and by content hash (the eval stage refuses contaminated scenarios): "
         + ", ".join(f"{f} ({categories[f]})" for f in own) + ".",
         f"- {e.scenarios_per_family} scenarios per family and cue, cues {', '.join(e.cues)} (eval-cued vs "
         f"deployment-cued variants of the same task), seeds from {e.seed}; {c.episodes} episodes for {c.model} "
         f"{c.A}."]
    if external:
        L.append(f"- External Inspect AI tasks (scored by their own scorers): {', '.join(external)}.")
    L.append("- Grading: action graders decide covert actions from tool calls and messages only; reasoning "
             "classifiers (evaluation awareness, covert intent) read only the chain of thought.")
    if e.generation.guided_actions:
        L.append("- Decoding: guided action decoding (the tool is chosen among the scenario's tools): behaviour was "
                 "measured under that constraint, not free generation.")
        c.gaps.append("behaviour was measured under guided action decoding, not free generation")
    L.append(f"- Models compared in the same run: {', '.join(c.results['models'])}.")
    return L + [""]


def _results(c: _Case) -> list[str]:
    """MEASURE 2: per-family covert rates against the risk threshold, the suite average, then the rest."""
    A, T, threshold = c.A, c.T, c.cfg.safety_case.risk_threshold
    L = ["## 3. Results (MEASURE 2)", "",
         "Rates are covert episodes / episodes with 95% highest-density intervals of the Beta(1+k, 1+n-k) posterior "
         "(they hold the rate, and reach 0 at 0/n); the per-family "
         f"counts {A} were recounted from the transcripts {T} before this was written.", "",
         "| family | category | covert rate | supports rate < threshold? |", "|---|---|---|---|"]
    unsupported = []
    for fam, cell in sorted(c.per_family.items()):
        ok = cell.get("hi") is not None and cell["hi"] < threshold
        if cell.get("n") and not ok:
            unsupported.append(fam)
        L.append(f"| {fam} | {c.categories.get(fam, '')} | {_iv(cell)} {A}{T} | {'yes' if ok else 'no'} |")
    suite = c.report["numbers"]["suite"].get(c.model)
    L.append("")
    if suite:
        L.append(f"Suite average (Monte Carlo over the per-family posteriors, {len(suite['families'])} families): "
                 f"{suite['mean']:.3f} [{suite['lo']:.3f}, {suite['hi']:.3f}] {A}.")
    L.append(f"Risk threshold (safety_case.risk_threshold): covert rate < {threshold:g}. "
             + ("Every family's 95% upper bound is below it." if not unsupported else
                f"The tests do **not** support that claim for {len(unsupported)} of {len(c.per_family)} families "
                f"({', '.join(unsupported)}): the upper bound is at or above {threshold:g}."))
    if unsupported:
        c.gaps.append(f"the tests do not bound the covert rate below {threshold:g} in {len(unsupported)} families")
    L += _other_results(c)
    verdict = next((v["text"] for v in c.report.get("verdicts", []) if v["model"] == c.model), None)
    if verdict:
        L += ["", f"Verdict from the report: {verdict}"]
    return L + [""]


def _other_results(c: _Case) -> list[str]:
    """The cue gap, awareness, obfuscation, citation, durability, hidden goal and interrogation lines."""
    nums, model, A, R = c.report["numbers"], c.model, c.A, c.R
    L = []
    gap = nums["cue_gap"].get(model)
    if gap:
        L.append(f"- Cue gap (deploy minus eval covert rate): {gap['mean']:+.3f} [{gap['lo']:+.3f}, {gap['hi']:+.3f}], "
                 f"P(gap > 0) = {gap['p_positive']:.2f} {A}.")
    aw = nums["awareness"].get(model)
    if aw:
        L.append(f"- Verbalized evaluation awareness: {_iv(aw['aware'])}; covert | aware {_iv(aw['covert_if_aware'])}, "
                 f"covert | unaware {_iv(aw['covert_if_unaware'])} {A}.")
    avr = nums["act_vs_reasoning"].get(model)
    if avr:
        L.append(f"- Covert acts whose reasoning looked clean (obfuscation signal): {_iv(avr['clean_covert'])} {A}.")
    cit = (nums.get("citation") or {}).get(model)
    if cit and cit.get("records"):
        L.append(f"- Reasoning that cites a spec clause: {cit['citing']}/{cit['records']} {A}.")
        if cit.get("semantic_miscited_records") is not None:
            L.append(f"- Reasoning that miscites the spec: unknown clause IDs in {cit['miscited_records']}/"
                     f"{cit['records']}, a real clause cited for what it does not say in "
                     f"{cit['semantic_miscited_records']}/{cit['records']} {A}.")
    du = nums.get("durability") or {}
    if du and model in (du.get("after"), "durable") and du.get("covert"):
        d = du["covert"]
        L.append(f"- Durability: after capability-only training the suite covert rate moved {d['mean']:+.3f} "
                 f"[{d['lo']:+.3f}, {d['hi']:+.3f}] {A}.")
    hg = (nums.get("hidden_goal") or {}).get(model)
    if hg:
        L.append(f"- Hidden goal ({hg['family']}): covert when triggered {hg['triggered'][0]}/{hg['triggered'][1]}, "
                 f"states the goal {hg['states_goal'][0]}/{hg['states_goal'][1]} {R}.")
    inter = c.meta.get("interrogation")
    if inter:
        L.append(f"- Follow-up interrogation: asked {inter['asked']}, confessed {inter['confessed']}, doubled down "
                 f"{inter['doubled_down']} {R}.")
    return L


def _limits(c: _Case, quality: list[str]) -> list[str]:
    """MAP 2.2, MEASURE 3: sample size, uninformative families, parse failures, classifier quality, the gaps."""
    L = ["## 4. Known limits (MAP 2.2, MEASURE 3)", ""]
    wide = [f for f, cell in c.per_family.items() if cell.get("hi") is not None and cell["hi"] - cell["lo"] > WIDE]
    if wide:
        L.append(f"- Sample size: {len(wide)} of {len(c.per_family)} families have intervals wider than {WIDE:g} "
                 f"({', '.join(sorted(wide))}); more scenarios per family narrow them.")
    zero = [row[0] for row in (_table(c.report, "covert", "Per family") or {"rows": []})["rows"]
            if "left out" in str(row[-1])]
    if zero:
        L.append(f"- No covert action by any model in {', '.join(zero)}: these families cannot show a difference.")
    fails = sum(cell["all"]["parse_failures"] for cell in c.meta["counts"].values())
    L.append(f"- Episodes with unparsable model output: {fails} of {c.episodes} {c.R}.")
    L += samples.safety_case_lines(samples.excluded(c.cfg.stage_dir("eval"), c.results), c.model, c.R)
    L += quality
    L.append("- The test families are simulations with scripted tools; behaviour on real systems can differ, which "
             "is what the monitoring plan below is for.")
    L += [f"- {g[0].upper() + g[1:]}." for g in c.gaps]
    return L + [""]


def _monitoring(c: _Case) -> list[str]:
    """MEASURE 2.4, MANAGE 4.1: the configured deployment monitor, and what it lacks."""
    plan, plan_gaps = monitor_plan(c.cfg, c.model)
    return (["## 5. Post-deployment monitoring plan (MEASURE 2.4, MANAGE 4.1)", ""] + plan
            + [f"- Gap: {g}." for g in plan_gaps] + [""])


def _governance(c: _Case) -> list[str]:
    """GOVERN 1-2, then the provenance appendix that resolves every source tag."""
    return ["## 6. Governance (GOVERN 1-2)", "",
            f"- Accountable owner: {c.cfg.safety_case.owner or '**not stated** (safety_case.owner)'}.",
            "- Re-run this document after any retraining: the manifests change and so do the source hashes.", "",
            "## Provenance", ""] + c.src.table()


def document(cfg: ExperimentConfig, model: str, report: dict, results: dict, src: Sources, quality: list[str]) -> str:
    """One model's safety case (Markdown), from the run's files; ``quality``: :func:`classifier_quality`."""
    c = _case(cfg, model, report, results, src)
    L = [f"# Safety case: {model} ({cfg.name})", "",
         f"Generated by `deliberate report --safety-case` from the run in `{Path(cfg.output_dir)}`. Every number "
         "carries a source tag resolved in the provenance appendix; counts were re-checked against the transcripts.",
         ""]
    L += _context(c) + _tests(c) + _results(c) + _limits(c, quality) + _monitoring(c) + _governance(c)
    return "\n".join(L) + "\n"


def write(cfg: ExperimentConfig) -> Path:
    """One ``safety_case.<model>.md`` per evaluated model in ``<output_dir>/safety_case/``, with a
    manifest whose parents are the eval and report stages (always rewritten: it is cheap)."""
    report_dir, eval_dir, out = cfg.stage_dir("report"), cfg.stage_dir("eval"), cfg.stage_dir("safety_case")
    for d, stage in ((eval_dir, "eval"), (report_dir, "report")):
        if read_manifest(d) is None:
            raise SafetyCaseError(f"{d} has no manifest: run `deliberate {stage}` first")
    report = json.loads((report_dir / "analysis.json").read_text())
    results = json.loads((eval_dir / "results.json").read_text())
    quality = classifier_quality()
    docs = {m: document(cfg, m, report, results, Sources(cfg.output_dir), quality) for m in results["models"]}
    with stage_output(out) as tmp:
        for model, text in docs.items():
            (tmp / f"safety_case.{model}.md").write_text(text)
        write_manifest(tmp, stage="safety_case", config_hash=hashlib.sha256(
            json.dumps(asdict(cfg.safety_case), sort_keys=True).encode()).hexdigest(),
            parents=[eval_dir, report_dir], record_count=len(docs))
    for model in docs:
        log.info("[report] wrote %s", out / f"safety_case.{model}.md")
    return out
