"""Episodes/s of the data stage's and the eval stage's rollout loops, prefix KV cache on vs off, in one run.

    python scripts/bench/rollout_throughput.py                          # the demo config, embedded SmolLM2-135M
    python scripts/bench/rollout_throughput.py --config EXP.yaml --scenarios 2 --require 3
    python scripts/bench/rollout_throughput.py --loops eval                 # one loop only

Both loops are played exactly as the stages play them (``run_rollouts`` with the config's
generation settings: guided actions, batch size, token budgets; the data loop with the spec in the
teacher's prompt and k samples per scenario), once with ``generation.kv_cache: false`` and once
with ``true``, on the same model in the same process, after a warm-up. At ``--temperature 0``
(default) the two runs must give identical transcripts (checked: exit 1 otherwise); any other
temperature checks the seeded samples the same way. The ratios are printed last; exit 1 when the
geometric mean of the two is below ``--require``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time

import torch

from deliberate.backends import TransformersBackend
from deliberate.config import load_config
from deliberate.data.generate import plan
from deliberate.envs.core import get_family
from deliberate.models import load_model
from deliberate.rollout import PromptParts, run_rollouts
from deliberate.specs.loader import load_spec


def loops(cfg, scenarios: int | None):
    """(name, scenarios, samples, prompt parts, generation config) of the data and eval loops."""
    _, data_scenarios, _ = plan(cfg)
    if scenarios:
        data_scenarios = [sc for sc in data_scenarios if sc.seed < cfg.data.seed + scenarios]
    spec = load_spec(cfg.spec.path)
    e = cfg.eval
    eval_scenarios = [get_family(f).sample(e.seed + i, "test", cue) for f in cfg.envs.test for cue in e.cues
                      for i in range(scenarios or e.scenarios_per_family)]
    return [("data", data_scenarios, cfg.data.samples_per_scenario,
             PromptParts(spec=spec.render(cfg.data.spec_in_prompt)), cfg.data.generation),
            ("eval", eval_scenarios, 1, PromptParts(), e.generation)]


def play(model, tok, gen, scenarios, samples, parts, cfg, kv_cache: bool):
    backend = TransformersBackend(model, tok, dataclasses.replace(gen, kv_cache=kv_cache))
    t0 = time.perf_counter()
    rollouts = run_rollouts(backend, scenarios, samples=samples, parts=parts, tool_format=cfg.envs.tool_format,
                            max_turns=cfg.envs.max_turns)
    seconds = time.perf_counter() - t0
    return [r.to_record()["turns"] for r in rollouts], seconds, backend.stats.new_tokens


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="configs/experiments/demo.yaml")
    p.add_argument("--scenarios", type=int, default=None, help="scenarios per family (default: the config's)")
    p.add_argument("--temperature", type=float, default=0.0, help="both loops' temperature (default 0: greedy)")
    p.add_argument("--require", type=float, default=3.0, help="exit 1 unless the mean cached/uncached ratio >= this")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--loops", default="data,eval", help="which loops to time (comma-separated: data, eval)")
    args = p.parse_args(argv)

    cfg = load_config(args.config)
    model, tok = load_model(cfg.data.teacher)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    hardware = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()
    print(f"model {cfg.data.teacher.name_or_path} on {device} ({hardware}), torch threads {torch.get_num_threads()}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, temperature {args.temperature}", flush=True)
    rows, ok = [], True
    wanted = {x.strip() for x in args.loops.split(",") if x.strip()}
    if not wanted or wanted - {"data", "eval"}:
        p.error(f"--loops: choose from data, eval; got {args.loops!r}")
    for name, scenarios, samples, parts, gen in loops(cfg, args.scenarios):
        if name not in wanted:
            continue
        gen = dataclasses.replace(gen, temperature=args.temperature)
        play(model, tok, gen, scenarios[:2], 1, parts, cfg, kv_cache=True)  # warm-up
        episodes = len(scenarios) * samples
        plain, t_plain, tokens = play(model, tok, gen, scenarios, samples, parts, cfg, kv_cache=False)
        cached, t_cached, _ = play(model, tok, gen, scenarios, samples, parts, cfg, kv_cache=True)
        same = plain == cached
        ok &= same
        turns = sum(len(t) for t in plain)
        rows.append({"loop": name, "episodes": episodes, "turns": turns, "generated_tokens": tokens,
                     "uncached_s": round(t_plain, 2), "cached_s": round(t_cached, 2),
                     "uncached_episodes_per_s": round(episodes / t_plain, 3),
                     "cached_episodes_per_s": round(episodes / t_cached, 3),
                     "ratio": round(t_plain / t_cached, 2), "identical_outputs": same})
        print(f"{name}: {episodes} episodes ({turns} turns, batch {gen.batch_size}): uncached {t_plain:.1f} s "
              f"({episodes / t_plain:.3f} episodes/s), cached {t_cached:.1f} s ({episodes / t_cached:.3f} "
              f"episodes/s), identical outputs: {same}", flush=True)
    mean = math.exp(sum(math.log(r["ratio"]) for r in rows) / len(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"config": args.config, "device": device, "hardware": hardware, "rows": rows,
                       "mean_ratio": round(mean, 2)}, fh, indent=2)
    for r in rows:
        print(f"RATIO {r['loop']} cached/uncached episodes/s = {r['ratio']:.2f}x")
    print(f"RATIO mean (geometric) = {mean:.2f}x (required >= {args.require}); outputs identical: {ok}")
    return 0 if ok and mean >= args.require else 1


if __name__ == "__main__":
    sys.exit(main())
