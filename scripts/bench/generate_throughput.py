"""Generated tokens/s of the transformers backend, batched vs one at a time, in one run.

    python scripts/bench/generate_throughput.py                      # the embedded SmolLM2-135M, fp32 and bf16
    python scripts/bench/generate_throughput.py --model /path/to/model --batch-sizes 1 8 32 --new-tokens 48

For each batch size B, B prompts (distinct, of similar length) are generated with the
batched backend (one generate call of B rows) and then one at a time (B calls of one row);
both produce exactly ``--new-tokens`` tokens per prompt (EOS ignored), so the ratio is a
pure throughput ratio measured on the same machine in the same process. A warm-up call
runs first. Each dtype in ``--dtypes`` is measured (batched and one-at-a-time at the same
dtype); bfloat16 is skipped where the CPU has no bf16 matrix support. The pass condition
(``--require 8:4``: batched >= 4x one-at-a-time at batch 8) applies to the dtype named by
``--require-dtype`` (default: bfloat16 where supported, else float32); every row is printed.
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
    p.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    p.add_argument("--require", default="8:4", help="B:R -> exit 1 unless batched/sequential >= R at batch B")
    p.add_argument("--require-dtype", default=None, help="the dtype the requirement applies to")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    bf16_ok = device == "cuda" or torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    dtypes = [d for d in args.dtypes if d != "bfloat16" or bf16_ok]
    hardware = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()
    print(f"model {args.model} on {device} ({hardware}, {torch.get_num_threads()} threads), {args.new_tokens} new "
          f"tokens per prompt; dtypes {', '.join(dtypes)}")
    print(f"{'dtype':>9} {'batch':>5} {'batched tok/s':>14} {'one-at-a-time tok/s':>20} {'ratio':>6}")
    rows = []
    for dtype in dtypes:
        backend = TransformersBackend.from_config(ModelConfig(args.model, dtype=dtype),
                                                  GenerationConfig(temperature=0.0, batch_size=1))
        backend.model.to(device)
        timed(backend, prompts(backend, 2), 4, rows=2)  # warm-up
        for b in args.batch_sizes:
            batch = prompts(backend, b)
            tb, nb = timed(backend, batch, args.new_tokens, rows=b)
            ts, ns = 0.0, 0
            for one in batch:
                t, n = timed(backend, [one], args.new_tokens, rows=1)
                ts, ns = ts + t, ns + n
            row = {"dtype": dtype, "batch": b, "batched_tps": nb / tb, "sequential_tps": ns / ts,
                   "ratio": (nb / tb) / (ns / ts)}
            rows.append(row)
            print(f"{dtype:>9} {b:>5} {row['batched_tps']:>14.1f} {row['sequential_tps']:>20.1f} "
                  f"{row['ratio']:>5.2f}x", flush=True)
        del backend
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"model": args.model, "device": device, "new_tokens": args.new_tokens, "rows": rows}, fh,
                      indent=2)
    required = args.require_dtype or ("bfloat16" if "bfloat16" in dtypes else "float32")
    want_b, want_r = (float(x) for x in args.require.split(":"))
    got = next((r for r in rows if r["batch"] == int(want_b) and r["dtype"] == required), None)
    if got is not None and got["ratio"] < want_r:
        print(f"FAIL: {required}: batched is {got['ratio']:.2f}x one-at-a-time at batch {int(want_b)}; "
              f"need >= {want_r}x")
        return 1
    if got is not None:
        print(f"ok: {required}: batched is {got['ratio']:.2f}x one-at-a-time at batch {int(want_b)} (>= {want_r}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
