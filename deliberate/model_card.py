"""Model cards: ``<stage>/model/README.md`` of every trained model (sft, rl, durability), in the
Hugging Face convention (YAML front matter: base model, datasets, tags, ``model-index``).

A training stage writes the card with the model's lineage (the hashes of the manifests it descends
from); the report stage rewrites it with the covert-rate results per family and cue and a link-free
summary of the verdict. The card is left out of the stage's content hash
(``deliberate.provenance.UNHASHED``), so refreshing it never breaks a later stage's parent check.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import yaml

from deliberate.provenance import read_manifest

log = logging.getLogger(__name__)

CARD = "model/README.md"  # relative to the stage folder
# eval model name -> the stage folder of its weights
EVAL_NAMES = {"sft": "sft", "rl": "rl", "durable": "durability"}
_TAGS = {"sft": "sft", "rl": "grpo", "durability": "capability-fine-tune"}


def lineage(stage_dir: Path, parents: list[Path] | None = None) -> list[dict]:
    """The stages a model descends from, oldest first, each as its manifest's identity (stage,
    content hash, git revision, created; the data stage's spec, Merkle root and record count).
    ``parents``: the stage's parent folders while it has no manifest yet (at the end of training);
    otherwise they are read from its manifest, which then closes the list."""
    out, seen = [], set()

    def visit(folder: Path) -> None:
        m = read_manifest(folder)
        if m is None or str(folder) in seen:
            return
        seen.add(str(folder))
        for p in m.get("parents") or []:
            visit(Path(p["path"]))
        entry = {"stage": m["stage"], "content_hash": m["content_hash"], "git_revision": m.get("git_revision"),
                 "created": m.get("created")}
        for key in ("spec", "merkle_root", "teacher"):
            if m.get(key):
                entry[key] = m[key]
        if m["stage"] == "data":
            entry["records"] = m.get("record_count")
        out.append(entry)

    if parents is None:
        visit(Path(stage_dir))
    else:
        for p in parents:
            visit(Path(p))
    return out


def write(cfg, stage: str, stage_dir: Path, parents: list[Path] | None = None, results: dict | None = None,
          verdict: str | None = None) -> Path:
    """Write ``stage_dir/model/README.md``: lineage (from ``parents`` while the stage is unfinished,
    else from its manifest), and, when given, the eval ``results`` (results.json) and the report's
    ``verdict`` text for this model."""
    path = Path(stage_dir) / CARD
    text = render(cfg, stage, lineage(stage_dir, parents), results, verdict)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def refresh(cfg) -> list[Path]:
    """After the report: rewrite the card of every trained model the eval stage evaluated, with its
    covert rates and verdict."""
    results_path = cfg.stage_dir("eval") / "results.json"
    analysis_path = cfg.stage_dir("report") / "analysis.json"
    if not results_path.is_file():
        return []
    results = json.loads(results_path.read_text())
    verdicts = {}
    if analysis_path.is_file():
        verdicts = {v["model"]: v["text"] for v in json.loads(analysis_path.read_text()).get("verdicts") or []}
    written = []
    for name in results["models"]:
        stage = EVAL_NAMES.get(name)
        folder = cfg.stage_dir(stage) if stage else None
        if folder is None or not (folder / "model").is_dir() or read_manifest(folder) is None:
            continue
        written.append(write(cfg, stage, folder, results=results, verdict=verdicts.get(name)))
    if written:
        log.info("[report] model cards with the results: %s", ", ".join(str(p) for p in written))
    return written


def render(cfg, stage: str, chain: list[dict], results: dict | None = None, verdict: str | None = None) -> str:
    """The card's text (:func:`write`)."""
    name = next((n for n, s in EVAL_NAMES.items() if s == stage), stage)
    stages = [e["stage"] for e in chain]
    datasets = [f"{cfg.name}-dataset"] * ("data" in stages) + [f"{cfg.name}-durability-capability"] * (
        stage == "durability")
    rows = _result_rows(results, name) if results else []
    front = {"base_model": _base_model(cfg, stage), "datasets": datasets, "library_name": "transformers",
             "pipeline_tag": "text-generation",
             "tags": ["deliberate", "deliberative-alignment", "anti-scheming", _TAGS.get(stage, stage)]}
    if rows:
        front["model-index"] = [{"name": f"{cfg.name}-{name}", "results": [
            {"task": {"type": "text-generation", "name": "Covert-action evaluation"},
             "dataset": {"type": r["source"], "name": r["family"], "config": r["cue"], "split": "test"},
             "metrics": [{"type": "covert_rate", "value": round(r["rate"], 4),
                          "name": f"covert rate, {r['cue']} cue ({r['k']}/{r['n']})"}]} for r in rows]}]
    L = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
         f"# {cfg.name}: {name} model", "",
         f"Trained by the Deliberate pipeline ({stage} stage) from `{front['base_model']}`: deliberative "
         "alignment against scheming (reasoning over an anti-scheming specification before acting), evaluated on "
         "held-out covert-action families in evaluation-cued and deployment-cued variants.", "",
         "## Lineage", "", "| stage | content hash | git revision | created | details |", "|---|---|---|---|---|"]
    for e in chain:
        L.append(f"| {e['stage']} | `{e['content_hash'][:16]}` | `{str(e.get('git_revision'))[:12]}` | "
                 f"{e.get('created') or ''} | {_details(e)} |")
    if stage not in stages:
        L.append(f"| {stage} | (this model; the stage's manifest is written after this card) | | | |")
    L += ["", "## Results", ""]
    if rows:
        L += ["Covert episodes / episodes per held-out family and cue (cue `all`: both pooled); failed Inspect "
              "samples are left out.", "", "| family | source | cue | covert rate | covert / episodes |",
              "|---|---|---|---|---|"]
        L += [f"| {r['family']} | {r['source']} | {r['cue']} | {r['rate']:.3f} | {r['k']}/{r['n']} |" for r in rows]
    else:
        L.append("Not evaluated yet: `deliberate eval` and `deliberate report` fill this table.")
    L += ["", "## Verdict", "", _link_free(verdict) if verdict else "Written by `deliberate report`.", "",
          "The numbers come from the run's own eval; small models and few scenarios give wide intervals (the "
          "report's intervals and the safety case say how wide).", ""]
    return "\n".join(L)


def _base_model(cfg, stage: str) -> str:
    after = cfg.durable_from() if stage == "durability" else stage
    if after == "rl" and cfg.rl.model is not None:
        return cfg.rl.model.name_or_path
    return cfg.student().name_or_path


def _details(e: dict) -> str:
    parts = []
    if e.get("spec"):
        s = e["spec"]
        parts.append(f"spec {s.get('name')} v{s.get('version')} (sha256 `{str(s.get('sha256'))[:16]}`)")
    if e.get("merkle_root"):
        parts.append(f"{e.get('records')} records, Merkle root `{e['merkle_root'][:16]}`")
    if e.get("teacher"):
        parts.append(f"teacher `{e['teacher']}`")
    return "; ".join(parts).replace("|", "\\|")


def _result_rows(results: dict, name: str) -> list[dict]:
    counts = (results["models"].get(name) or {}).get("counts") or {}
    families = results.get("families") or {}
    rows = []
    for family in sorted(counts):
        source = "inspect" if (families.get(family) or {}).get("source") == "inspect" else "deliberate-heldout"
        for cue in sorted(counts[family], key=lambda c: (c == "all", c)):
            c = counts[family][cue]
            if c["n"]:
                rows.append({"family": family, "source": source, "cue": cue, "k": c["covert"], "n": c["n"],
                             "rate": c["covert"] / c["n"]})
    return rows


def _link_free(text: str) -> str:
    """Markdown links become their text; bare URLs are dropped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"\s*<?\b(?:https?|ftp)://\S+", "", text).strip()
