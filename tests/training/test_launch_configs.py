"""Launch configurations: every accelerate YAML and DeepSpeed JSON is read by the installed accelerate
(and transformers' DeepSpeed glue) the way `accelerate launch` reads it, up to starting processes; the
slurm launchers parse, and scripts/slurm/train.sbatch starts the right commands on every node of a
simulated 3-node job (fake srun/scontrol/accelerate/trl on PATH, the real `deliberate config`)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import yaml
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DeepSpeedPlugin, DistributedType, FullyShardedDataParallelPlugin, PrecisionType
from accelerate.utils.deepspeed import HfDeepSpeedConfig
from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env, prepare_simple_launcher_cmd_env

ROOT = Path(__file__).resolve().parents[2]
ACCEL = sorted((ROOT / "configs/accelerate").rglob("*.yaml"))
DS_JSON = sorted((ROOT / "configs/deepspeed").rglob("*.json"))
SBATCH = sorted((ROOT / "scripts/slurm").glob("*.sbatch"))
VENV_BIN = Path(sys.executable).parent
rel = lambda p: str(p.relative_to(ROOT))  # noqa: E731


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- accelerate YAMLs


def static_problems(path: Path) -> list[str]:
    """What accelerate would reject or silently ignore in one accelerate YAML, plus our own rules."""
    raw = yaml.safe_load(path.read_text())
    out = []
    header = "".join(line for line in path.read_text().splitlines(keepends=True) if line.startswith("#"))
    command = f"accelerate launch --config_file configs/accelerate/{path.name}"
    if command not in header or "-m deliberate.cli" not in header:
        out.append("header: no `accelerate launch --config_file <this file> ... -m deliberate.cli` command")
    try:
        dtype = DistributedType(raw.get("distributed_type"))
    except ValueError:
        allowed = [d.value for d in DistributedType]
        return out + [f"distributed_type: {raw.get('distributed_type')!r} is not one of {allowed}"]
    for key in ("num_processes", "num_machines"):
        if type(raw.get(key)) is not int or raw[key] < 1:
            out.append(f"{key}: expected a positive int, got {raw.get(key)!r}")
    if "mixed_precision" in raw and raw["mixed_precision"] not in PrecisionType.list():
        out.append(f"mixed_precision: {raw['mixed_precision']!r} is not one of {PrecisionType.list()}")
    # accelerate copies nested keys onto its launch arguments without checking them: a typo is dropped silently
    dests = {a.dest for a in launch_command_parser()._actions}
    for section, prefix in (("fsdp_config", "fsdp_"), ("deepspeed_config", "")):
        for key in raw.get(section) or {}:
            name = key if key.startswith(prefix) else prefix + key
            if name not in dests:
                out.append(f"{section}.{key}: not an `accelerate launch` option (typo?)")
    if dtype == DistributedType.DEEPSPEED:
        ds = raw.get("deepspeed_config") or {}
        file = ds.get("deepspeed_config_file")
        if not file or not (ROOT / file).is_file():
            out.append(f"deepspeed_config.deepspeed_config_file: {file!r} is not a file under the repository")
        if "mixed_precision" in raw:
            out.append("mixed_precision: set bf16 in the DeepSpeed JSON (accelerate refuses it next to the file)")
        if ds.get("deepspeed_multinode_launcher") != "standard":
            out.append("deepspeed_config.deepspeed_multinode_launcher: must be 'standard' (one torchrun per node)")
        if file and (m := re.match(r"zero(\d)", path.stem)):
            stage = HfDeepSpeedConfig(str(ROOT / file)).get_value("zero_optimization.stage")
            if stage != int(m.group(1)):
                out.append(f"{path.name} points at {file}, ZeRO stage {stage}")
    return out


def dry_run_launch(path: Path, flags: list[str], monkeypatch):
    """`accelerate launch --config_file PATH FLAGS -m deliberate.cli sft EXP` up to starting processes:
    accelerate's own parser, config merge and environment preparation (its launch_command, minus the
    process start), then the plugin the training process would build from that environment."""
    args = launch_command_parser().parse_args(
        ["--config_file", str(path), *flags, "-m", "deliberate.cli", "sft", "exp.yaml"])
    args, defaults, mp_from_config = _validate_launch_command(args)
    cmd = None
    if args.use_deepspeed:
        fields = list(defaults.deepspeed_config) + (["mixed_precision"] if mp_from_config else [])
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        cmd, env = prepare_deepspeed_cmd_env(args)
    elif args.use_fsdp or args.multi_gpu:
        env = prepare_multi_gpu_env(args)
    else:
        cmd, env = prepare_simple_launcher_cmd_env(args)
    for key, value in env.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    plugin = None
    if args.use_deepspeed:
        plugin = DeepSpeedPlugin()  # reads ACCELERATE_DEEPSPEED_*; refuses fields that clash with the JSON
        plugin.set_mixed_precision("bf16")
    elif args.use_fsdp:
        plugin = FullyShardedDataParallelPlugin()  # reads FSDP_*
    return args, cmd, plugin


def test_every_launch_config_is_shipped():
    names = {p.name for p in ACCEL}
    assert {"cpu.yaml", "single_gpu.yaml", "ddp.yaml", "fsdp2.yaml", "zero2.yaml", "zero3.yaml",
            "zero3_offload.yaml", "multinode.yaml"} <= names
    assert {"zero2.json", "zero3.json", "zero3_offload.json"} <= {p.name for p in DS_JSON}
    referenced = {(yaml.safe_load(p.read_text()).get("deepspeed_config") or {}).get("deepspeed_config_file")
                  for p in ACCEL}
    assert {rel(p) for p in DS_JSON} <= referenced, "a DeepSpeed JSON no accelerate config uses"


@pytest.mark.parametrize("path", ACCEL, ids=rel)
def test_accelerate_config_keys(path):
    assert static_problems(path) == []
    cfg = load_config_from_file(str(path))  # accelerate's loader: unknown top-level keys are errors
    assert isinstance(cfg, ClusterConfig)


@pytest.mark.parametrize("multinode", [False, True], ids=["one-node", "3-nodes"])
@pytest.mark.parametrize("path", ACCEL, ids=rel)
def test_accelerate_launch_dry_run(path, multinode, monkeypatch):
    monkeypatch.chdir(ROOT)  # the DeepSpeed JSON paths are relative to the repository root
    raw = yaml.safe_load(path.read_text())
    if multinode and raw["distributed_type"] == "NO":
        pytest.skip("one process: no multi-node form")
    flags = ["--num_machines", "3", "--machine_rank", "1", "--num_processes", "24",
             "--main_process_ip", "10.1.2.3", "--main_process_port", "29555"] if multinode else []
    args, cmd, plugin = dry_run_launch(path, flags, monkeypatch)
    if multinode:  # one torchrun per node, rendezvous at rank 0's host (never DeepSpeed's pdsh launcher)
        assert cmd is None
        assert (args.nnodes, args.node_rank, args.nproc_per_node) == ("3", 1, "8")
        assert args.rdzv_endpoint == "10.1.2.3:29555"
    dtype = raw["distributed_type"]
    if dtype == "FSDP":
        from torch.distributed.fsdp import StateDictType
        from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

        assert plugin.fsdp_version == 2
        assert plugin.reshard_after_forward is True  # full shard
        assert plugin.auto_wrap_policy is transformer_auto_wrap_policy
        assert plugin.state_dict_type == StateDictType.SHARDED_STATE_DICT
        assert plugin.cpu_ram_efficient_loading is True
        assert plugin.activation_checkpointing is False
        assert os.environ["ACCELERATE_MIXED_PRECISION"] == "bf16"
    elif dtype == "DEEPSPEED":
        stage = int(re.match(r"zero(\d)", path.stem).group(1))
        assert plugin.zero_stage == stage
        assert plugin.deepspeed_config["bf16"]["enabled"] is True
        offload = "cpu" if "offload" in path.stem else "none"
        assert plugin.offload_optimizer_device == offload
        if stage == 3:
            assert plugin.offload_param_device == offload
            assert plugin.zero3_init_flag is True
            assert plugin.zero3_save_16bit_model is True  # Trainer.save_model writes a loadable model folder
    elif dtype == "MULTI_GPU":
        assert os.environ["ACCELERATE_MIXED_PRECISION"] == "bf16"


# case: (shipped file, how to break it, what our checks say or None, whether accelerate itself raises)
BAD = {
    "unknown top-level key": ("ddp.yaml", lambda r: r.update(num_proceses=8), None, True),
    "DistributedType that does not exist": ("ddp.yaml", lambda r: r.update(distributed_type="MULTI_GPUS"),
                                            "distributed_type", True),
    # accelerate drops an unknown fsdp_config key without a word: only our check sees it
    "typo in fsdp_config": ("fsdp2.yaml", lambda r: r["fsdp_config"].update(fsdp_state_dict_typ="FULL_STATE_DICT"),
                            "fsdp_config.fsdp_state_dict_typ", False),
    "mixed_precision next to a DeepSpeed JSON": ("zero3.yaml", lambda r: r.update(mixed_precision="bf16"),
                                                 "mixed_precision", True),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_broken_config_is_caught(case, tmp_path, monkeypatch):
    """The checks above have teeth: each broken copy of a shipped config fails them."""
    name, breakage, ours, accelerate_raises = BAD[case]
    shipped = (ROOT / "configs/accelerate" / name).read_text()
    raw = yaml.safe_load(shipped)
    breakage(raw)
    copy = tmp_path / name
    header = "".join(line for line in shipped.splitlines(keepends=True) if line.startswith("#"))
    copy.write_text(header + yaml.safe_dump(raw))
    monkeypatch.chdir(ROOT)
    problems = static_problems(copy)
    if ours:
        assert any(p.startswith(ours) for p in problems), problems
    else:
        assert problems == []
    if accelerate_raises:
        with pytest.raises(ValueError):
            load_config_from_file(str(copy))
            dry_run_launch(copy, [], monkeypatch)
    else:
        load_config_from_file(str(copy))
        dry_run_launch(copy, [], monkeypatch)


# --------------------------------------------------------------------------- DeepSpeed JSONs


class _TrainerDeepSpeedConfig(HfDeepSpeedConfig):
    """transformers' HfTrainerDeepSpeedConfig (the code that fills "auto" from TrainingArguments),
    grafted onto accelerate's config reader so it runs without the deepspeed package."""

    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig as _hf

    is_auto, fill_match, fill_only = _hf.is_auto, _hf.fill_match, _hf.__dict__["fill_only"]
    trainer_config_process, trainer_config_finalize = _hf.trainer_config_process, _hf.trainer_config_finalize

    def __init__(self, path):
        super().__init__(str(path))
        self._dtype, self.mismatches = None, []


def _autos(node, prefix=""):
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _autos(value, f"{prefix}{key}.")
        elif value == "auto":
            yield prefix + key


@pytest.fixture(scope="module")
def filled_ds_configs(tmp_path_factory):
    """Each JSON after the HF Trainer filled its "auto" values (bf16, 4 x 2 batch, hidden size 576)."""
    from transformers import TrainingArguments

    targs = TrainingArguments(output_dir=str(tmp_path_factory.mktemp("ds")), use_cpu=True, bf16=True,
                              per_device_train_batch_size=4, gradient_accumulation_steps=2, max_grad_norm=1.0,
                              report_to="none")
    model = types.SimpleNamespace(config=types.SimpleNamespace(hidden_size=576))
    out = {}
    for path in DS_JSON:
        cfg = _TrainerDeepSpeedConfig(path)
        cfg.trainer_config_process(targs)
        cfg.trainer_config_finalize(targs, model, num_training_steps=100)
        out[path.name] = cfg.config
    return out


@pytest.mark.parametrize("path", DS_JSON, ids=rel)
def test_deepspeed_json(path, filled_ds_configs):
    raw = json.loads(path.read_text())
    for key in ("train_micro_batch_size_per_gpu", "gradient_accumulation_steps", "gradient_clipping", "bf16.enabled"):
        node = raw
        for part in key.split("."):
            node = node[part]
        assert node == "auto", f"{key}: the HF Trainer fills it from the sft/rl config; expected 'auto'"
    reader = HfDeepSpeedConfig(str(path))
    stage = int(re.match(r"zero(\d)", path.stem).group(1))
    assert reader.get_value("zero_optimization.stage") == stage
    assert reader.is_zero3() == (stage == 3)
    devices = {reader.get_value(f"zero_optimization.{kind}.device", "none")
               for kind in ("offload_optimizer", "offload_param")}
    assert devices == ({"cpu"} if "offload" in path.stem else {"none"})
    assert reader.is_offload() == ("offload" in path.stem)
    if stage == 3:  # else Trainer.save_model leaves no model weights for the eval stage
        assert reader.get_value("zero_optimization.stage3_gather_16bit_weights_on_model_save") is True
    filled = filled_ds_configs[path.name]
    assert list(_autos(filled)) == [], "an 'auto' the HF Trainer does not fill: DeepSpeed would reject it"
    assert (filled["train_micro_batch_size_per_gpu"], filled["gradient_accumulation_steps"]) == (4, 2)
    assert filled["bf16"]["enabled"] is True and filled["gradient_clipping"] == 1.0


@pytest.mark.parametrize("path", DS_JSON, ids=rel)
def test_deepspeed_accepts_the_filled_json(path, filled_ds_configs):
    pytest.importorskip("deepspeed", reason="DeepSpeed is not installed (pip install -e '.[deepspeed]')")
    from deepspeed.runtime.config import DeepSpeedConfig

    ds = DeepSpeedConfig(filled_ds_configs[path.name])  # strict pydantic models: unknown ZeRO keys are errors
    assert ds.zero_optimization_stage == int(re.match(r"zero(\d)", path.stem).group(1))


# --------------------------------------------------------------------------- slurm launchers


@pytest.mark.parametrize("path", SBATCH, ids=rel)
def test_sbatch_parses(path):
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# every fake appends {"prog", "argv", "nodeid", "node"} to $FAKE_LOG, then does its part
FAKE_PRELUDE = """import json, os, subprocess, sys
from pathlib import Path
argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps({"prog": Path(sys.argv[0]).name, "argv": argv, "nodeid": os.environ.get("SLURM_NODEID"),
                        "node": os.environ.get("SLURMD_NODENAME")}) + "\\n")
"""
FAKES = {
    # log argv; run the command once per task, with SLURM_NODEID/SLURMD_NODENAME as slurm sets them
    "srun": """
opts = {a[2:].split("=", 1)[0]: a.split("=", 1)[-1] for a in argv if a.startswith("--")}
cmd = argv[next(i for i, a in enumerate(argv) if not a.startswith("-")):]
nodes = opts.get("nodelist", "").split(",")
env = lambda i: {**os.environ, "SLURM_NODEID": str(i), "SLURMD_NODENAME": nodes[i]}
if int(opts.get("ntasks", 1)) == 1:
    os.execvpe(cmd[0], cmd, env(0))  # same pid: the launcher can kill it
sys.exit(max(subprocess.run(cmd, env=env(i)).returncode for i in range(int(opts["ntasks"]))))
""",
    "scontrol": """
if argv[:2] == ["show", "hostnames"]:
    print("trn-001\\ntrn-002\\nlocalhost")
""",
    "accelerate": "",
    # a stand-in vLLM server: answers /health on --port until killed
    "trl": """
port = argv[argv.index("--port") + 1]
root = Path(os.environ["FAKE_LOG"]).parent / "www"
root.mkdir(exist_ok=True)
(root / "health").write_text("ok")
os.execv(sys.executable, [sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1", "--directory", str(root)])
""",
}


def start_train_sbatch(tmp_path, stage, overrides=(), env=None, cwd=ROOT):
    """Start scripts/slurm/train.sbatch as slurm would on the first node of a 3-node job
    (trn-001, trn-002, localhost; 4 GPUs each), with every slurm/accelerate/trl command a fake that
    logs its argv to calls.jsonl. Returns what finish_train_sbatch needs."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls.jsonl"
    for name, body in FAKES.items():
        fake = bindir / name
        fake.write_text(f"#!{sys.executable}\n" + FAKE_PRELUDE + body)
        fake.chmod(0o755)
    exp = yaml.safe_load((ROOT / "configs/experiments/demo.yaml").read_text())
    exp["output_dir"] = str(tmp_path / "run")
    exp_path = tmp_path / "exp.yaml"
    exp_path.write_text(yaml.safe_dump(exp))
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM", "ACCELERATE", "MASTER_"))}
    run_env.update({"PATH": f"{bindir}:{VENV_BIN}:{os.environ['PATH']}", "FAKE_LOG": str(log),
                    "SLURM_JOB_ID": "4242", "SLURM_JOB_NODELIST": "trn-[001-002],localhost", "SLURM_GPUS_ON_NODE": "4",
                    "MASTER_PORT": "29555", "VLLM_WAIT_INTERVAL": "1", **(env or {})})
    proc = subprocess.Popen(["bash", str(ROOT / "scripts/slurm/train.sbatch"), stage, str(exp_path), *overrides],
                            cwd=cwd, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, exp_path, log


def finish_train_sbatch(proc, exp_path, log):
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    return [json.loads(line) for line in log.read_text().splitlines()], exp_path


def has_vllm_server_mode() -> bool:
    from deliberate.config import RlConfig

    return "vllm_mode" in {f.name for f in dataclasses.fields(RlConfig)}


@pytest.fixture(scope="module")
def sbatch_runs(tmp_path_factory):
    """The three launcher scenarios, run at once (each makes several ~1 s `deliberate config` calls)."""
    base = tmp_path_factory.mktemp("sbatch")
    port = free_port()
    started = {
        "sft": start_train_sbatch(base / "sft", "sft", ["sft.max_steps=3"]),
        "rl": start_train_sbatch(base / "rl", "rl", cwd=base,
                                 env={"ACCELERATE_CONFIG": str(ROOT / "configs/accelerate/zero3.yaml")}),
    }
    if has_vllm_server_mode():
        started["server"] = start_train_sbatch(
            base / "server", "rl", ["rl.use_vllm=true", "rl.vllm_mode=server", "rl.vllm_tensor_parallel_size=2",
                                    f"rl.vllm_server_port={port}"],
            env={"ACCELERATE_CONFIG": str(ROOT / "configs/accelerate/fsdp2.yaml")}, cwd=base)
    finished = {name: finish_train_sbatch(*args) for name, args in started.items()}
    return {"port": port, "base": base, **finished}


def launches(calls):
    """Each fake `accelerate` call as ({flag: value} before -m, [what follows -m], node id)."""
    out = []
    for c in (c for c in calls if c["prog"] == "accelerate"):
        argv = c["argv"]
        assert argv[0] == "launch"
        m = argv.index("-m")
        flags = dict(zip(argv[1:m:2], argv[2:m:2]))
        out.append((flags, argv[m + 1:], c["nodeid"]))
    return out


def test_train_sbatch_three_nodes(sbatch_runs):
    calls, exp = sbatch_runs["sft"]
    runs = launches(calls)
    assert [r[2] for r in runs] == ["0", "1", "2"]  # one launch per node
    for flags, rest, nodeid in runs:
        assert flags == {"--config_file": "configs/accelerate/multinode.yaml", "--num_machines": "3",
                         "--machine_rank": nodeid, "--main_process_ip": "trn-001", "--main_process_port": "29555",
                         "--num_processes": "12"}
        assert rest == ["deliberate.cli", "sft", str(exp), "sft.max_steps=3"]
    (srun,) = [c["argv"] for c in calls if c["prog"] == "srun"]
    assert "--nodes=3" in srun and "--ntasks-per-node=1" in srun and "--nodelist=trn-001,trn-002,localhost" in srun
    assert not [c for c in calls if c["prog"] == "trl"]


def test_train_sbatch_rl_without_server_trains_on_every_node(sbatch_runs):
    calls, exp = sbatch_runs["rl"]
    runs = launches(calls)
    assert [(f["--num_machines"], f["--machine_rank"], f["--config_file"]) for f, _, _ in runs] == \
        [("3", str(i), str(ROOT / "configs/accelerate/zero3.yaml")) for i in range(3)]
    assert all(rest == ["deliberate.cli", "rl", str(exp)] for _, rest, _ in runs)
    assert not [c for c in calls if c["prog"] == "trl"]


def test_train_sbatch_vllm_server_on_the_last_node(sbatch_runs):
    if "server" not in sbatch_runs:
        pytest.skip("the config has no rl.vllm_mode: the vLLM server layout cannot be selected")
    calls, exp = sbatch_runs["server"]
    port = sbatch_runs["port"]
    (serve,) = [c for c in calls if c["prog"] == "trl"]
    assert serve["node"] == "localhost"  # the last node of trn-001, trn-002, localhost
    argv = serve["argv"]
    assert argv[0] == "vllm-serve"
    opts = dict(zip(argv[1::2], argv[2::2]))
    # demo: rl.model is null and sft is enabled -> the SFT output
    assert opts["--model"] == str(exp.parent / "run" / "sft" / "model")
    assert (opts["--tensor-parallel-size"], opts["--port"]) == ("2", str(port))
    runs = launches(calls)
    assert [r[2] for r in runs] == ["0", "1"]
    for flags, rest, nodeid in runs:
        assert (flags["--num_machines"], flags["--num_processes"], flags["--main_process_ip"]) == ("2", "8", "trn-001")
        assert flags["--machine_rank"] == nodeid
        assert rest[-1] == "rl.vllm_server_host=localhost"
    train_srun = [c["argv"] for c in calls if c["prog"] == "srun"][-1]
    assert "--nodelist=trn-001,trn-002" in train_srun
    for _ in range(50):  # the server is stopped when the job ends
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the vLLM stand-in still answers on port {port} after the job ended")
