"""deliberate plan: parameter counts against transformers and published sizes, activation estimates against
the tensors a tiny model really saves for backward (CPU), every recipe validating and planning as its header
says, and a clear "will not fit" for an impossible setting."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import torch
import transformers
from transformers import AutoModelForCausalLM

from deliberate.cli import main
from deliberate.config import config_from_dict, load_config
from deliberate.plan import GB, Architecture, PlanError, Training, make_plan, read_launch

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "configs/experiments/recipes").glob("*.yaml"))
ARCHS = ROOT / "configs/architectures"

TINY = {
    "llama": transformers.LlamaConfig(vocab_size=500, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2),
    "qwen2": transformers.Qwen2Config(vocab_size=500, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2),
    "qwen3": transformers.Qwen3Config(vocab_size=500, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                                      tie_word_embeddings=True),
    "qwen3_moe": transformers.Qwen3MoeConfig(vocab_size=500, hidden_size=64, intermediate_size=96,
                                             moe_intermediate_size=32, num_experts=4, num_experts_per_tok=2,
                                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                             head_dim=16),
    "gpt_oss": transformers.GptOssConfig(vocab_size=500, hidden_size=64, intermediate_size=64, num_local_experts=4,
                                         num_experts_per_tok=2, num_hidden_layers=2, num_attention_heads=4,
                                         num_key_value_heads=2, head_dim=16),
}


def _arch(name: str) -> Architecture:
    path = ARCHS / name / "config.json"
    return Architecture.from_config(json.loads(path.read_text()), str(path))


@pytest.mark.parametrize("kind", sorted(TINY))
def test_parameter_count_equals_transformers_model(kind):
    config = TINY[kind]
    model = AutoModelForCausalLM.from_config(config)
    assert Architecture.from_config(config.to_dict(), kind).params() == model.num_parameters()


@pytest.mark.parametrize("name, total, active", [
    ("Llama-3.1-8B-Instruct", 8_030_261_248, None),  # the model card's exact count
    ("Llama-3.3-70B-Instruct", 70_553_706_496, None),
    ("SmolLM2-135M-Instruct", 134_515_008, None),
    ("Qwen3-1.7B", 1.7e9, None),  # model cards: 1.7B, 4.0B, 8.2B, 32.8B, 30.5B (3.3B activated), gpt-oss 20.9B
    ("Qwen3-4B", 4.0e9, None),
    ("Qwen3-8B", 8.2e9, None),
    ("Qwen3-32B", 32.8e9, None),
    ("Qwen3-30B-A3B", 30.5e9, 3.3e9),
    ("gpt-oss-20b", 20.91e9, None),
])
def test_shipped_architectures_have_their_published_sizes(name, total, active):
    arch = _arch(name)
    assert arch.params() == pytest.approx(total, rel=0.015)
    if active:
        assert arch.active_params() == pytest.approx(active, rel=0.03)


def _saved_bytes(model, rows: int, seq: int, checkpointing: bool) -> int:
    """Bytes of the distinct tensors autograd keeps for backward after one forward with a loss (not weights)."""
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    ids = torch.randint(0, model.config.vocab_size, (rows, seq), generator=torch.Generator().manual_seed(0))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, labels=ids)
    return sum(n for ptr, n in seen.items() if ptr not in weights)


@pytest.mark.parametrize("kind", ["llama", "qwen3"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("checkpointing", [False, True])
def test_activation_estimate_matches_measured_saved_tensors(kind, dtype, checkpointing):
    # dimensions unlike the ones the coefficients were fitted on: q width (6 x 48) != hidden (192)
    cls = transformers.LlamaConfig if kind == "llama" else transformers.Qwen3Config
    config = cls(vocab_size=700, hidden_size=192, intermediate_size=520, num_hidden_layers=3, num_attention_heads=6,
                 num_key_value_heads=2, head_dim=48, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa", dtype=dtype)
    rows, seq = 2, 96
    measured = _saved_bytes(model, rows, seq, checkpointing)
    b = 4 if dtype == torch.float32 else 2
    saved, _ = Architecture.from_config(config.to_dict(), kind).activation_bytes_per_token(b, checkpointing, "sdpa")
    assert rows * seq * saved == pytest.approx(measured, rel=0.05)


def test_sharded_states_are_divided_over_the_gpus():
    arch = _arch("Qwen3-8B")
    p = arch.params()
    for kind, gpus in (("zero3", 8), ("fsdp2", 4)):
        path = "configs/accelerate/zero3.yaml" if kind == "zero3" else "configs/accelerate/fsdp2.yaml"
        parts = Training(arch, read_launch(path, gpus), 2, 1, 1024, True).parts()
        states = sum(v for k, v in parts.items() if k.startswith(("weights", "gradients", "optimizer")))
        assert states == pytest.approx(16 * p / gpus)  # bf16/fp32 mixed precision + AdamW: 16 bytes per parameter
    single = Training(arch, read_launch("configs/accelerate/single_gpu.yaml", 1), 2, 1, 1024, True).parts()
    assert single["weights"] + single["gradients"] + single["optimizer (AdamW)"] == 8 * p  # all bf16, one GPU
    qlora = Training(arch, read_launch(None, 1), 2, 1, 1024, True, lora_rank=16,
                     lora_targets=["q_proj", "v_proj"], qlora=True).parts()
    assert qlora["weights"] < 0.6 * p and qlora["adapter + its gradients + AdamW"] == 16 * arch.lora_params(
        16, ["q_proj", "v_proj"])


def _header_command(path: Path, command: str) -> list[str]:
    """The `deliberate <command> ...` line of a recipe's header (with its continuation lines), as argv."""
    header = [line[1:].strip() for line in path.read_text().splitlines() if line.startswith("#")]
    for i, line in enumerate(header):
        if line.startswith(f"deliberate {command} "):
            text = line.split("  #", 1)[0]
            while text.endswith("\\"):
                i += 1
                text = text[:-1] + " " + header[i]
            return shlex.split(text)[1:]
    raise AssertionError(f"{path.name}: no `deliberate {command}` line in the header")


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_validates_and_has_a_header(recipe, capsys):
    cfg = load_config(recipe)  # the config alone: the recipes name models that are on the cluster only
    assert main(["validate", "--no-paths", str(recipe)]) == 0
    header = "".join(line for line in recipe.read_text().splitlines(keepends=True) if line.startswith("#"))
    assert re.search(r"Hardware: .*GPU", header), "the header names the hardware"
    assert "ESTIMATED" in header and "wall time" in header, "the header gives estimated wall times, marked as such"
    assert "accelerate launch" in header or "sbatch" in header, "the header says how to launch it"
    assert cfg.sft.enabled


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_plan_prints_memory_and_fits_as_launched(recipe, capsys):
    argv = _header_command(recipe, "plan")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "memory per GPU (estimate)" in out and out.rstrip().endswith("verdict: fits")
    assert re.search(r"  sft .*gradient checkpointing (on|off)", out)


def test_recipes_cover_the_required_setups():
    cfgs = {p.stem: load_config(p) for p in RECIPES}
    one_gpu = [c for c in cfgs.values() if c.rl.enabled and c.rl.use_vllm and c.data.teacher.backend == "vllm"
               and c.eval.inspect and len(c.envs.test) == 18]
    assert one_gpu, "(a) one GPU: vLLM teacher, SFT, GRPO, every held-out family, Inspect agentic misalignment"
    assert any(c.data.teacher.backend == "openai" and c.rl.use_vllm and c.rl.vllm_mode == "colocate"
               for c in cfgs.values()), "(b) vLLM server teacher, GRPO with vLLM colocate"
    assert any(c.sft.model.reasoning_parser == "harmony" and "gpt-oss" in c.sft.model.name_or_path
               for c in cfgs.values()), "(c) gpt-oss with harmony reasoning"
    assert any(c.sft.lora.enabled and c.sft.lora.load_in_4bit and _arch(c.sft.model.architecture).params() > 30e9
               for c in cfgs.values()), "(d) QLoRA on a 30B+ model"


def test_full_finetune_of_8b_on_one_24gb_gpu_will_not_fit(capsys):
    recipe = ROOT / "configs/experiments/recipes/qwen3_8b_node.yaml"
    rc = main(["plan", str(recipe), "rl.enabled=false", "eval.models=[base,sft]", "--gpus", "1",
               "--gpu-memory", "24", "--accelerate", "configs/accelerate/single_gpu.yaml"])
    out = capsys.readouterr().out
    assert rc == 1
    verdict = out[out.index("verdict: will not fit"):]
    sft = next(line for line in verdict.splitlines() if line.startswith("  - sft:"))
    assert "the GPU has 24.0 GB" in sft
    assert "the weights, gradients and optimizer states alone take 65.5 GB" in sft  # 8 bytes x 8.19B, bf16 AdamW
    assert "full fine-tune of 8.2B parameters, single, 1 GPU(s), no offload" in sft


def test_plan_reads_a_local_model_folder_and_needs_no_gpu(tiny_model_dir):
    cfg = config_from_dict({"name": "tiny", "output_dir": "runs/tiny",
                            "data": {"teacher": {"name_or_path": str(tiny_model_dir)}}})
    plan = make_plan(cfg, gpus=1, gpu_memory_gb=8.0)
    text = plan.render()
    assert "gradient checkpointing off (default: < 1B parameters)" in text
    assert plan.fits and text.endswith("verdict: fits")
    tiny = Architecture.from_config(json.loads((tiny_model_dir / "config.json").read_text()), "tiny")
    assert f"({tiny.params() / 1e3:.1f}K parameters)" in text or f"({tiny.params() / 1e6:.1f}M parameters)" in text


def test_a_model_without_config_json_asks_for_an_architecture():
    cfg = config_from_dict({"name": "x", "output_dir": "runs/x",
                            "data": {"teacher": {"name_or_path": "/nowhere/SomeModel-7B"}}})
    with pytest.raises(PlanError, match=r"data.teacher: no config.json .* set data.teacher.architecture"):
        make_plan(cfg, gpus=1)
    cfg.data.teacher.architecture = "Qwen3-8B"  # a shipped one
    assert "8.2B parameters" in make_plan(cfg, gpus=1).render()
    assert GB == 1e9
