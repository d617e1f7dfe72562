"""scripts/bench/sft_gpu.py in its CPU smoke mode: both modes run and report, packing pads less,
and the padding-free rows it trains on keep packed sequences apart under sdpa."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench" / "sft_gpu.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("sft_gpu_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_run_reports_both_modes(tmp_path):
    out = tmp_path / "bench.json"
    # sys.executable is the project venv's python when run as `.venv/bin/pytest`
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "packing / no_packing" in proc.stdout
    result = json.loads(out.read_text())
    modes = result["modes"]
    assert set(modes) == {"no_packing", "packing"}
    for mode in modes.values():
        assert mode["steps_timed"] == 3
        assert mode["tokens_per_s"] > 0
        assert mode["real_tokens"] > 0 and mode["positions"] >= mode["real_tokens"]
        assert mode["mfu"] is None  # CPU: no peak FLOP/s to compare with
        assert mode["gradient_checkpointing"]  # the default, as on the GPU
        assert math.isfinite(mode["train_loss"])
    packed, padded = modes["packing"], modes["no_packing"]
    assert packed["padding_free"] and not padded["padding_free"]
    assert packed["pad_tokens"] <= padded["pad_tokens"]
    assert packed["pad_fraction"] <= padded["pad_fraction"]
    assert result["ratio_packing_over_no_packing"]["tokens_per_s"] > 0


def test_padding_free_row_does_not_mix_sequences():
    """The packed mode's rows (TRL's padding-free collator) give each sequence the logits it has alone."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    bench = _load_script()
    torch.manual_seed(0)
    model = bench.build_model(bench.TINY_QWEN2, "sdpa", "cpu", torch.float32).eval()
    docs = [list(range(3, 40)), list(range(50, 70)), list(range(100, 130))]
    collator = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)
    batch = collator([{"input_ids": sum(docs, []), "seq_lengths": [len(d) for d in docs]}])
    batch.pop("labels")
    lengths, positions = bench.sequence_lengths(batch)
    assert lengths == [len(d) for d in docs] and positions == sum(lengths)
    with torch.no_grad():
        packed = model(**batch, use_cache=False).logits[0]  # use_cache=False, as SFTTrainer.compute_loss sets it
        start = 0
        for doc in docs:
            alone = model(input_ids=torch.tensor([doc]), use_cache=False).logits[0]
            torch.testing.assert_close(packed[start:start + len(doc)], alone, atol=1e-5, rtol=1e-5)
            start += len(doc)
