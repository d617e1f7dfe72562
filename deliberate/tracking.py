"""Every Weights & Biases call goes through here, so tests run with it off.

Mode ``auto``: online when ``WANDB_API_KEY`` is set, offline otherwise. ``WANDB_MODE=disabled``
in the environment (the tests set it) turns it off whatever the config says. Runs are
grouped per experiment with the stage as job type; ``wandb.finish()`` is always called. The
config W&B stores is passed through ``deliberate.redact.redact_tree`` (no credential in it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from deliberate.config import ExperimentConfig, to_dict
from deliberate.redact import redact_tree


def resolve_mode(cfg: ExperimentConfig) -> str:
    if os.environ.get("WANDB_MODE") == "disabled" or cfg.wandb.mode == "disabled":
        return "disabled"
    if cfg.wandb.mode == "auto":
        return "online" if os.environ.get("WANDB_API_KEY") else "offline"
    return cfg.wandb.mode


def trainer_report_to(cfg: ExperimentConfig) -> str:
    """``report_to`` for HF/TRL trainers: the run opened by :func:`stage_run` is reused."""
    return "none" if resolve_mode(cfg) == "disabled" else "wandb"


class Tracker:
    def __init__(self, run=None):
        self.run = run

    @property
    def enabled(self) -> bool:
        return self.run is not None

    def log(self, metrics: dict) -> None:
        if self.run is not None:
            self.run.log(metrics)

    def summary(self, metrics: dict) -> None:
        if self.run is not None:
            self.run.summary.update(metrics)

    def table(self, name: str, columns: list[str], rows: list[list]) -> None:
        if self.run is not None:
            import wandb

            self.run.log({name: wandb.Table(columns=columns, data=rows)})

    def chart(self, name: str, figure: dict) -> None:
        """A report figure (``eval/report/html.py``'s figure spec: categories x series of points with
        rate/lo/hi) as W&B charts: a native grouped bar chart of the point values (hover shows
        the interval), its table (``<name>/data``), and the same matplotlib plot as the HTML
        page as an image, so intervals are visible in the run too."""
        if self.run is None:
            return
        import io

        import wandb
        from PIL import Image

        from deliberate.eval.report.plots import render_png

        rows = []
        for series in figure.get("series") or []:
            for cat, p in zip(figure.get("categories") or [], series.get("points") or []):
                p = p if isinstance(p, dict) else {"rate": p}
                value = p.get("rate", p.get("value"))
                if value is None:
                    continue
                rows.append([f"{cat} | {series['name']}", str(cat), str(series["name"]), float(value),
                             p.get("lo"), p.get("hi")])
        table = wandb.Table(columns=["label", "category", "series", "value", "lo", "hi"], data=rows)
        self.run.log({f"{name}/data": table,
                      f"{name}/bars": wandb.plot.bar(table, "label", "value", title=figure.get("title", name)),
                      f"{name}/plot": wandb.Image(Image.open(io.BytesIO(render_png(figure))),
                                                  caption=figure.get("title"))})

    def artifact(self, name: str, kind: str, path: Path, *, use: list = (), metadata: dict | None = None):
        """Log ``path`` as an artifact and return it; ``use`` lists the artifacts (objects or
        names) this one was made from, which W&B records as lineage."""
        if self.run is None:
            return None
        import wandb

        for parent in use:
            with contextlib.suppress(Exception):  # a parent logged in another mode/project is optional
                self.run.use_artifact(parent)
        art = wandb.Artifact(name, type=kind, metadata=metadata or {})
        if Path(path).is_dir():
            art.add_dir(str(path))
        else:
            art.add_file(str(path))
        self.run.log_artifact(art)
        return art


@contextlib.contextmanager
def stage_run(cfg: ExperimentConfig, stage: str) -> Iterator[Tracker]:
    mode = resolve_mode(cfg)
    if mode == "disabled":
        yield Tracker(None)
        return
    import wandb

    Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
    run = wandb.init(project=cfg.wandb.project, entity=cfg.wandb.entity, group=cfg.name, job_type=stage,
                     name=f"{cfg.name}-{stage}", config=redact_tree(to_dict(cfg)), dir=cfg.output_dir, mode=mode,
                     reinit="finish_previous")
    try:
        yield Tracker(run)
    finally:
        wandb.finish()
