"""SFT training tokens/s and MFU on one GPU, with and without packing, measured in one run.

    python scripts/bench/sft_gpu.py                        # Qwen2.5-1.5B architecture, random init, bf16, one GPU
    python scripts/bench/sft_gpu.py --steps 30 --tokens-per-step 16384 --max-length 2048 --json $OUT/sft_gpu.json
    python scripts/bench/sft_gpu.py --smoke                # tiny Qwen2, CPU, fp32, a few steps (CI); MFU is n/a
    python scripts/bench/sft_gpu.py --smoke --device cuda  # the tiny run on the GPU: a cheap check of the GPU path

Nothing is downloaded. The model is Qwen2.5-1.5B's architecture (its config is written out below)
with random weights, built with ``AutoModelForCausalLM.from_config``; the data are token-id
sequences generated with a fixed seed, lengths log-uniform in [--min-seq-len, --max-seq-len]
(many short, few long, as chat SFT data are), handed to TRL's ``SFTTrainer`` pre-tokenized
(an ``input_ids`` column; labels = input_ids, loss on every token). A one-word tokenizer
(``tokenizers`` WordLevel wrapped in ``PreTrainedTokenizerFast``) only supplies the pad token.

The two modes train the same sequences, one after the other, in this process:

* ``no_packing``: ``packing=False``; each micro-batch holds ``round(tokens_per_step / mean length)``
  sequences, right-padded to the longest in the batch (TRL's collator), attention with a padding mask.
* ``packing``: ``packing=True`` with TRL 1.16's default ``packing_strategy="bfd"`` (best-fit
  decreasing into rows of ``--max-length``), which turns padding-free on: a micro-batch is one
  flattened row with ``position_ids`` restarting at each sequence and ``cu_seq_lens`` for varlen
  kernels. With FlashAttention (2 or 3) that is varlen attention, sequences never see each other.
  With ``sdpa`` transformers rebuilds a block-diagonal causal mask from ``position_ids``
  (``masking_utils.find_packed_sequence_indices``, active because ``SFTTrainer.compute_loss`` sets
  ``use_cache=False``; tests/training/test_bench_smoke.py checks it): still no cross-sequence
  attention, but a dense mask over the whole flattened row, quadratic in its length, so with sdpa one packed row of
  ``--max-length`` tokens is a micro-batch and ``tokens_per_step // max_length`` micro-batches are
  accumulated; with FlashAttention all of a step's rows go in one micro-batch.

Timing: a ``TrainerCallback`` takes a (synchronized) timestamp at every optimizer-step end; the
first ``--warmup-steps`` steps are excluded and the window is end(warmup) .. end(warmup+steps), so it
covers data collation, forward, backward, clipping, optimizer and TRL's per-step metrics.
Tokens are counted per micro-batch as they enter ``training_step``: real tokens are the non-pad
positions (``attention_mask`` sum, or every position of a padding-free row); positions are what
the model computes, padding included.

Formulas (documented again in the JSON):

* model FLOPs of one sequence of s real tokens, forward + backward:
  ``6 * N * s + 12 * n_layers * d_attn * s**2``, where N is the number of parameters (tied
  embedding counted once: its use as the LM head is the matmul that costs FLOPs, the lookup costs
  none) and d_attn = num_attention_heads * head_dim (= hidden_size for Qwen2). Per token that is
  ``6N + 12 * n_layers * d_attn * s`` (PaLM appendix B, with the sequence's own length as the
  context: no FLOPs are credited for padding, for attention across packed sequences, or for the
  recomputation of gradient checkpointing; this is MFU, not hardware FLOPs utilization). The
  attention term counts the full s x s score matrix, as PaLM does; a causal kernel skips about half.
* tokens/s = real tokens in the timed steps / timed seconds.
* MFU = (model FLOPs of the timed steps / timed seconds) / peak dense bf16 FLOP/s of the GPU, looked up
  from its name (H100 SXM 989e12, H100 PCIe 756e12, H100 NVL 835e12, H200 989e12, A100 312e12)
  or given with ``--peak-tflops``. On the CPU, MFU is reported as n/a.

Needs a CUDA build of torch for the GPU run (``TORCH_SPEC`` in ``scripts/setup.sh``); without CUDA
and without ``--smoke`` it stops with a message. Exit status 0 when both modes ran with a finite loss.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Qwen2.5-1.5B (Qwen/Qwen2.5-1.5B config.json), written out so that nothing is downloaded.
QWEN25_1_5B = dict(
    model_type="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
    num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, rope_theta=1_000_000.0,
    rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu", use_sliding_window=False,
    bos_token_id=151643, eos_token_id=151643,
)
# A Qwen2 small enough for a 2-core CPU in seconds (CI smoke).
TINY_QWEN2 = dict(
    model_type="qwen2", hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, vocab_size=1000, max_position_embeddings=512, rope_theta=1_000_000.0,
    rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu", use_sliding_window=False,
    bos_token_id=0, eos_token_id=0,
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1, 2; data ids are drawn above them

# Peak dense (no sparsity) bf16 tensor-core FLOP/s per GPU, from the vendor data sheets. First match wins.
PEAK_BF16 = [("H200", 989e12), ("H100 PCIE", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("A100", 312e12)]
MODES = {"no_packing": False, "packing": True}
FLOPS_FORMULA = ("model FLOPs per sequence of s real tokens (fwd+bwd) = 6*N*s + 12*n_layers*d_attn*s^2; "
                 "N = parameters (tied embedding once), d_attn = num_attention_heads*head_dim; no FLOPs for "
                 "padding, cross-sequence attention or activation recomputation. "
                 "MFU = model FLOPs / timed seconds / peak FLOP/s")


def peak_flops_for(name: str) -> float | None:
    upper = name.upper()
    return next((flops for key, flops in PEAK_BF16 if key in upper), None)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny Qwen2, short sequences, fp32, CPU: for CI (< 30 s)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto: cuda, except cpu with --smoke")
    p.add_argument("--steps", type=int, default=None, help="timed optimizer steps per mode (default 30; smoke 3)")
    p.add_argument("--warmup-steps", type=int, default=None, help="untimed steps first (default 3; smoke 1)")
    p.add_argument("--tokens-per-step", type=int, default=None,
                   help="real tokens per optimizer step, both modes (default 16384; smoke 512)")
    p.add_argument("--max-length", type=int, default=None,
                   help="SFT max_length: truncation, and the packed row length (default 2048; smoke 128)")
    p.add_argument("--min-seq-len", type=int, default=None,
                   help="shortest generated sequence (default 200; smoke 16)")
    p.add_argument("--max-seq-len", type=int, default=None,
                   help="longest generated sequence (default 2000; smoke 120)")
    p.add_argument("--attn", choices=["auto", "flash_attention_3", "flash_attention_2", "sdpa", "eager"],
                   default="auto",
                   help="attention implementation, both modes (auto: an installed FlashAttention, else sdpa)")
    p.add_argument("--packed-micro-batch", type=int, default=None,
                   help="packed rows per micro-batch (default: all of a step's rows with FlashAttention, 1 otherwise)")
    p.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--peak-tflops", type=float, default=None, help="peak dense bf16 TFLOP/s (overrides the lookup)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None,
                   help="results file (default $OUT/sft_gpu.json if OUT is set, else sft_gpu.json)")
    args = p.parse_args(argv)
    if args.smoke:
        defaults = dict(steps=3, warmup_steps=1, tokens_per_step=512, max_length=128, min_seq_len=16, max_seq_len=120)
    else:
        defaults = dict(steps=30, warmup_steps=3, tokens_per_step=16384, max_length=2048, min_seq_len=200,
                        max_seq_len=2000)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.json is None:
        args.json = str(Path(os.environ["OUT"]) / "sft_gpu.json") if os.environ.get("OUT") else "sft_gpu.json"
    if not 0 < args.min_seq_len <= args.max_seq_len:
        p.error("need 0 < --min-seq-len <= --max-seq-len")
    if args.max_length > args.tokens_per_step:
        p.error("--max-length must not exceed --tokens-per-step (a packed row is max_length tokens)")
    if args.steps < 1 or args.warmup_steps < 0:
        p.error("need --steps >= 1 and --warmup-steps >= 0")
    return args


def pick_attention(requested: str, device: str) -> str:
    from transformers.utils import is_flash_attn_2_available, is_flash_attn_3_available

    if requested != "auto":
        return requested
    if device == "cuda" and is_flash_attn_3_available():
        return "flash_attention_3"
    if device == "cuda" and is_flash_attn_2_available():
        return "flash_attention_2"
    return "sdpa"


def make_tokenizer():
    """A tokenizer that only knows the special tokens: the data are token ids already; TRL needs a pad token."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({t: i for i, t in enumerate(SPECIAL_TOKENS)}, unk_token=SPECIAL_TOKENS[0]))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|endoftext|>", eos_token="<|im_end|>",
                                   unk_token="<|endoftext|>")


def make_lengths(args, n: int, rng: random.Random) -> list[int]:
    lo, hi = math.log(args.min_seq_len), math.log(args.max_seq_len)
    return [min(args.max_length, round(math.exp(rng.uniform(lo, hi)))) for _ in range(n)]


def make_dataset(args, vocab_size: int, n_sequences: int):
    import torch
    from datasets import Dataset

    lengths = make_lengths(args, n_sequences, random.Random(args.seed))
    gen = torch.Generator().manual_seed(args.seed)
    ids = torch.randint(len(SPECIAL_TOKENS), vocab_size, (sum(lengths),), generator=gen).split(lengths)
    return Dataset.from_dict({"input_ids": [t.tolist() for t in ids]}), lengths


def build_model(config_dict: dict, attn: str, device: str, dtype):
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    fields = {k: v for k, v in config_dict.items() if k != "model_type"}
    config = Qwen2Config(**fields)
    with torch.device(device):  # initialise on the GPU directly: random init of 1.5B parameters on a CPU is slow
        model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attn)
    return model


def sequence_lengths(inputs) -> tuple[list[int], int]:
    """Real-token lengths of the sequences in one collated micro-batch, and the positions it computes."""
    ids = inputs["input_ids"]
    if "attention_mask" in inputs:  # right-padded batch
        lengths = inputs["attention_mask"].sum(dim=1).tolist()
    elif "cu_seq_lens_q" in inputs:  # padding-free row: sequence boundaries from TRL's collator
        lengths = inputs["cu_seq_lens_q"].diff().tolist()
    elif "position_ids" in inputs:  # padding-free without precomputed boundaries: restarts of position_ids
        pos = inputs["position_ids"].flatten().tolist()
        starts = [i for i, p in enumerate(pos) if p == 0] + [len(pos)]
        lengths = [b - a for a, b in zip(starts, starts[1:])]
    else:
        lengths = [ids.shape[1]] * ids.shape[0]
    return [int(x) for x in lengths], ids.numel()


class StepMeter:
    """Real tokens, positions and model FLOPs per optimizer step, and the (synchronized) end time of each step."""

    def __init__(self, n_params: int, n_layers: int, d_attn: int, sync):
        self.n_params, self.n_layers, self.d_attn, self.sync = n_params, n_layers, d_attn, sync
        self.steps: dict[int, dict] = {}
        self.ends: dict[int, float] = {}

    def count(self, step: int, inputs) -> None:
        lengths, positions = sequence_lengths(inputs)
        row = self.steps.setdefault(step, {"real_tokens": 0, "positions": 0, "sequences": 0, "model_flops": 0.0})
        row["real_tokens"] += sum(lengths)
        row["positions"] += positions
        row["sequences"] += len(lengths)
        row["model_flops"] += sum(6.0 * self.n_params * s + 12.0 * self.n_layers * self.d_attn * s * s for s in lengths)

    def callback(self):
        from transformers import TrainerCallback

        meter = self

        class _Timer(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                meter.sync()
                meter.ends[0] = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                meter.sync()
                meter.ends[state.global_step] = time.perf_counter()

        return _Timer()


def run_mode(mode: str, args, *, config_dict, dataset, mean_len, attn, device, dtype, peak) -> dict:
    import torch
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    packing = MODES[mode]
    cuda = device == "cuda"
    if cuda:
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(args.seed)
    model = build_model(config_dict, attn, device, dtype)
    cfg = model.config
    n_params = sum(p.numel() for p in model.parameters())  # parameters() yields a tied weight once
    d_attn = cfg.num_attention_heads * (getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads)
    meter = StepMeter(n_params, cfg.num_hidden_layers, d_attn, torch.cuda.synchronize if cuda else (lambda: None))

    if packing:
        rows_per_step = args.tokens_per_step // args.max_length
        flash = attn.startswith("flash_attention")
        micro = args.packed_micro_batch or (rows_per_step if flash else 1)
        micro = max(1, min(micro, rows_per_step))
        accum = max(1, rows_per_step // micro)
    else:
        micro, accum = max(1, round(args.tokens_per_step / mean_len)), 1

    class MeteredSFTTrainer(SFTTrainer):
        def training_step(self, model, inputs, *rest, **kwargs):
            meter.count(self.state.global_step + 1, inputs)
            return super().training_step(model, inputs, *rest, **kwargs)

    total_steps = args.warmup_steps + args.steps
    # recent transformers renamed gradient_checkpointing (TRL's default: on) to activation_checkpointing
    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    checkpointing = {("activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"):
                     args.gradient_checkpointing}
    with tempfile.TemporaryDirectory(prefix=f"sft-bench-{mode}-") as tmp:
        sft_args = SFTConfig(
            output_dir=tmp,
            max_steps=total_steps,
            per_device_train_batch_size=micro,
            gradient_accumulation_steps=accum,
            max_length=args.max_length,
            packing=packing,
            packing_strategy="bfd",  # TRL's default; with packing it turns padding_free on
            learning_rate=1e-5,
            bf16=dtype == torch.bfloat16,
            use_cpu=not cuda,
            **checkpointing,
            logging_steps=max(1, total_steps // 3),
            save_strategy="no",
            eval_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=args.seed,
            data_seed=args.seed,
            dataloader_num_workers=0,
        )
        trainer = MeteredSFTTrainer(model=model, args=sft_args, train_dataset=dataset,
                                    processing_class=make_tokenizer(), callbacks=[meter.callback()])
        trainer.remove_callback(PrinterCallback)  # the table below is the output
        padding_free = bool(trainer.padding_free)
        attn_used = trainer.model.config._attn_implementation
        train_rows = len(trainer.train_dataset)
        result = trainer.train()
        names = ("is_activation_checkpointing", "is_gradient_checkpointing")  # new name first: the old one warns
        flag = next((n for n in names if hasattr(type(trainer.model), n)), None)
        checkpointing_active = bool(flag and getattr(trainer.model, flag))
        peak_mem = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
        del trainer, model
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()

    first, last = args.warmup_steps, total_steps
    if result.global_step != total_steps or first not in meter.ends or last not in meter.ends:
        raise RuntimeError(f"{mode}: ran {result.global_step} of {total_steps} steps; the timing window is incomplete")
    seconds = meter.ends[last] - meter.ends[first]
    timed = [meter.steps[s] for s in range(first + 1, last + 1)]
    real = sum(r["real_tokens"] for r in timed)
    positions = sum(r["positions"] for r in timed)
    flops = sum(r["model_flops"] for r in timed)
    step_seconds = [meter.ends[s] - meter.ends[s - 1] for s in range(first + 1, last + 1)]
    return {
        "mode": mode,
        "packing": packing,
        "padding_free": padding_free,
        "attn_implementation": attn_used,
        "gradient_checkpointing": checkpointing_active,
        "micro_batch": micro,
        "gradient_accumulation_steps": accum,
        "train_rows": train_rows,
        "steps_total": total_steps,
        "steps_timed": len(timed),
        "timed_seconds": seconds,
        "sequences": sum(r["sequences"] for r in timed),
        "real_tokens": real,
        "positions": positions,
        "pad_tokens": positions - real,
        "pad_fraction": (positions - real) / positions if positions else 0.0,
        "tokens_per_s": real / seconds,
        "real_tokens_per_step": real / len(timed),
        "model_flops": flops,
        "model_tflops_per_s": flops / seconds / 1e12,
        "mfu": flops / seconds / peak if peak else None,
        "peak_memory_gib": peak_mem,
        "train_loss": result.training_loss,
        "n_params": n_params,
        "step_seconds": step_seconds,
    }


def _fmt(value, spec: str, na: str = "n/a") -> str:
    return na if value is None else format(value, spec)


def print_table(rows: list[dict]) -> None:
    header = (f"{'mode':<11} {'micro x accum':>13} {'steps timed':>11} {'tokens/s':>10} {'MFU %':>6} "
              f"{'pad %':>6} {'peak mem GiB':>12} {'loss':>7}")
    print(header)
    print("-" * len(header))
    for r in rows:
        mfu = None if r["mfu"] is None else 100 * r["mfu"]
        print(f"{r['mode']:<11} {str(r['micro_batch']) + ' x ' + str(r['gradient_accumulation_steps']):>13} "
              f"{r['steps_timed']:>11} {r['tokens_per_s']:>10.1f} {_fmt(mfu, '6.1f'):>6} "
              f"{100 * r['pad_fraction']:>6.1f} {_fmt(r['peak_memory_gib'], '12.2f'):>12} {r['train_loss']:>7.3f}")


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    import torch

    device = args.device if args.device != "auto" else ("cpu" if args.smoke else "cuda")
    if device == "cuda" and not torch.cuda.is_available():
        print("sft_gpu: CUDA is not available (torch " + torch.__version__ + "). This benchmark needs a GPU and a CUDA "
              "build of torch; run with --smoke for the CPU check.", file=sys.stderr)
        return 2

    import datasets
    import transformers
    import trl

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    config_dict = TINY_QWEN2 if args.smoke else QWEN25_1_5B
    if device == "cpu" and args.smoke:
        torch.set_num_threads(1)  # a 0.1M-parameter model gains nothing from threads, and one is steady on a busy CPU
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    attn = pick_attention(args.attn, device)
    if device == "cuda":
        gpu = torch.cuda.get_device_name()
        peak = args.peak_tflops * 1e12 if args.peak_tflops else peak_flops_for(gpu)
    else:
        gpu, peak = None, None  # MFU against a CPU peak is not meaningful
    where = gpu or f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"

    total_steps = args.warmup_steps + args.steps
    lo, hi = args.min_seq_len, args.max_seq_len
    mean_expected = (hi - lo) / math.log(hi / lo) if hi > lo else lo  # mean of the log-uniform distribution
    n_sequences = math.ceil(1.5 * total_steps * args.tokens_per_step / min(mean_expected, args.max_length)) + 16
    dataset, lengths = make_dataset(args, config_dict["vocab_size"], n_sequences)
    mean_len = sum(lengths) / len(lengths)

    if peak:
        peak_note = f" (peak dense bf16 {peak / 1e12:.0f} TFLOP/s)"
    else:
        peak_note = " (MFU n/a: unknown peak FLOP/s; pass --peak-tflops)" if device == "cuda" else " (MFU n/a on CPU)"
    print(f"device: {where}{peak_note}")
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}; "
          f"model {'tiny Qwen2' if args.smoke else 'Qwen2.5-1.5B architecture'} "
          f"(random init, {str(dtype).split('.')[-1]}), attention {attn}, "
          f"gradient checkpointing {'on' if args.gradient_checkpointing else 'off'}")
    print(f"data: {len(lengths)} sequences, lengths log-uniform in [{args.min_seq_len}, {args.max_seq_len}] "
          f"(mean {mean_len:.0f}), max_length {args.max_length}, ~{args.tokens_per_step} real tokens/step, "
          f"{args.warmup_steps} warm-up + {args.steps} timed steps per mode", flush=True)

    rows = []
    for mode in MODES:
        row = run_mode(mode, args, config_dict=config_dict, dataset=dataset, mean_len=mean_len, attn=attn,
                       device=device, dtype=dtype, peak=peak)
        rows.append(row)
        print(f"[{mode}] {row['tokens_per_s']:.1f} tokens/s over {row['steps_timed']} steps "
              f"({row['timed_seconds']:.2f} s)", flush=True)

    by_mode = {r["mode"]: r for r in rows}
    ratio = {"tokens_per_s": by_mode["packing"]["tokens_per_s"] / by_mode["no_packing"]["tokens_per_s"],
             "mfu": (by_mode["packing"]["mfu"] / by_mode["no_packing"]["mfu"]
                     if by_mode["packing"]["mfu"] and by_mode["no_packing"]["mfu"] else None)}
    print()
    print(f"GPU: {gpu}" if gpu else f"device: {where}")
    n = rows[0]["n_params"]
    print(f"model: {n / 1e9:.3f}B parameters" if n >= 1e8 else f"model: {n / 1e6:.3f}M parameters",
          f"({str(dtype).split('.')[-1]}), attention {attn}, gradient checkpointing "
          f"{'on' if args.gradient_checkpointing else 'off'}")
    print_table(rows)
    print(f"packing / no_packing: tokens/s {ratio['tokens_per_s']:.2f}x"
          + (f", MFU {ratio['mfu']:.2f}x" if ratio["mfu"] is not None else ""))
    elapsed = time.perf_counter() - t_start
    print(f"total wall time {elapsed:.1f} s")

    out = {
        "benchmark": "sft_gpu",
        "device": device,
        "gpu": gpu,
        "peak_flops": peak,
        "peak_flops_source": ("--peak-tflops" if args.peak_tflops else "lookup") if peak else None,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
                     "python": platform.python_version()},
        "model": {"name": "tiny-qwen2" if args.smoke else "qwen2.5-1.5b-architecture", "config": config_dict,
                  "dtype": str(dtype).split(".")[-1], "n_params": rows[0]["n_params"], "init": "random"},
        "attn_implementation": attn,
        "gradient_checkpointing": args.gradient_checkpointing,
        "settings": {k: getattr(args, k) for k in ("smoke", "steps", "warmup_steps", "tokens_per_step", "max_length",
                                                   "min_seq_len", "max_seq_len", "packed_micro_batch", "seed")},
        "data": {"sequences": len(lengths), "mean_length": mean_len, "length_distribution": "log-uniform"},
        "formula": FLOPS_FORMULA,
        "modes": by_mode,
        "ratio_packing_over_no_packing": ratio,
        "wall_seconds": elapsed,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"wrote {path}")
    bad = [r["mode"] for r in rows if not math.isfinite(r["train_loss"])]
    if bad:
        print(f"FAIL: non-finite training loss in {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
