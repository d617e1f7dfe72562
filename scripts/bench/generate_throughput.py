"""Generated tokens/s of the transformers backend, batched vs one at a time, in one run.

    python scripts/bench/generate_throughput.py                      # the embedded SmolLM2-135M
    python scripts/bench/generate_throughput.py --model /path/to/model --batch-sizes 1 8 32 --new-tokens 48

For each batch size B, B prompts (distinct, of similar length) are generated with the
batched backend (one generate call of B rows) and then one at a time (B calls of one row);
both produce exactly ``--new-tokens`` tokens per prompt (EOS ignored), so the ratio is a
pure throughput ratio measured on the same machine in the same process. A warm-up call
runs first. The pass condition the data stage relies on: batched >= 4x one-at-a-time at
batch 8 (``--require 8:4``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import torch

from deliberate.backends import TransformersBackend
from deliberate.config import GenerationConfig, ModelConfig

TOPICS = ["a data pipeline", "an invoice", "a server config", "a grant ranking", "a lab notebook", "a deploy",
          "a budget", "a consent form", "a test report", "a shipment", "a patient intake", "a payroll run"]


def prompts(backend, n: int) -> list[str]:
    return [backend.render([{"role": "user", "content": f"Write two sentences about {TOPICS[i % len(TOPICS)]} "
                                                        f"(item {i})."}]) for i in range(n)]


def timed(backend, batch: list[str], new_tokens: int, *, rows: int) -> tuple[float, int]:
    backend.gen.batch_size = rows
    before = backend.stats.new_tokens
    t0 = time.perf_counter()
    backend.generate(batch, max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    return time.perf_counter() - t0, backend.stats.new_tokens - before


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--require", default="8:4", help="B:R -> exit 1 unless batched/sequential >= R at batch B")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    backend = TransformersBackend.from_config(ModelConfig(args.model, dtype=args.dtype),
                                              GenerationConfig(temperature=0.0, batch_size=1))
    backend.model.to(device)
    timed(backend, prompts(backend, 2), 4, rows=2)  # warm-up
    rows = []
    print(f"model {args.model} on {device} ({torch.cuda.get_device_name() if device == 'cuda' else platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads), {args.new_tokens} new tokens per prompt")
    print(f"{'batch':>5} {'batched tok/s':>14} {'one-at-a-time tok/s':>20} {'ratio':>6}")
    for b in args.batch_sizes:
        batch = prompts(backend, b)
        tb, nb = timed(backend, batch, args.new_tokens, rows=b)
        ts, ns = 0.0, 0
        for one in batch:
            t, n = timed(backend, [one], args.new_tokens, rows=1)
            ts, ns = ts + t, ns + n
        row = {"batch": b, "batched_tps": nb / tb, "sequential_tps": ns / ts, "ratio": (nb / tb) / (ns / ts)}
        rows.append(row)
        print(f"{b:>5} {row['batched_tps']:>14.1f} {row['sequential_tps']:>20.1f} {row['ratio']:>5.2f}x", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"model": args.model, "device": device, "new_tokens": args.new_tokens, "rows": rows}, fh, indent=2)
    want_b, want_r = (float(x) for x in args.require.split(":"))
    got = next((r for r in rows if r["batch"] == int(want_b)), None)
    if got is not None and got["ratio"] < want_r:
        print(f"FAIL: batched is {got['ratio']:.2f}x one-at-a-time at batch {int(want_b)}; need >= {want_r}x")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
