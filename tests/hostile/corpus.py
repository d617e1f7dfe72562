"""The hostile-input corpus: bad configs, overrides, specs, family files, monitor lines and datasets,
each with the outcome it must get (harness.Case). Items are built from small tables here into files
under a test's tmp_path; ``CASES`` is the whole corpus. An item marked ``pending`` needs another
helper's fix (H4: config ranges, duplicate keys, non-UTF-8, dates, overrides, alias bombs, paths;
H3: tampered data, poisoned monitor lines) and runs as xfail until it lands.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import yaml
from hostile.harness import Case

CANARY = "sk-hostile-canary-5e1f2a9b7c3d"
REFUND = Path(__file__).resolve().parents[2] / "envs" / "examples" / "refund_override.yaml"

# --------------------------------------------------------------------------- configs

BASE = {
    "name": "hostile", "output_dir": "OUT",
    "envs": {"train": ["covert_rule_violation"], "test": ["impossible_checklist"], "max_turns": 2},
    "data": {"teacher": {"name_or_path": "stub-model", "backend": "openai",
                         "endpoint": {"base_url": "http://127.0.0.1:9/v1", "max_retries": 0, "timeout_s": 1.0}},
             "scenarios_per_family": 1, "samples_per_scenario": 1, "validation_scenarios_per_family": 0,
             "min_kept": 1, "judge": {"kind": "citation"}},
    "sft": {"enabled": False}, "eval": {"models": ["base"], "counterfactual": False, "interrogation": False},
    "wandb": {"mode": "disabled"},
}


def base_config(tmp: Path) -> dict:
    raw = copy.deepcopy(BASE)
    raw["output_dir"] = str(tmp / "out")
    return raw


def set_path(raw: dict, dotted: str, value) -> dict:
    node = raw
    *heads, last = dotted.split(".")
    for k in heads:
        node = node.setdefault(k, {})
    node[last] = value
    return raw


def write_config(tmp: Path, raw, name: str = "exp.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return path


def config_case(id: str, edit: Callable[[dict], object], names: str, pending: str | None = None,
                forbid: tuple[str, ...] = ()) -> Case:
    def build(tmp: Path) -> list[str]:
        raw = base_config(tmp)
        edit(raw)
        return ["validate", str(write_config(tmp, raw))]

    return Case(f"config/{id}", "config", build, names=names, pending=pending, forbid=forbid)


def value_case(dotted: str, value, label: str, pending: str | None = None) -> Case:
    return config_case(f"{dotted}={label}", lambda raw: set_path(raw, dotted, value), dotted, pending)


def text_config_case(id: str, text: str | bytes, names: str, pending: str | None = None) -> Case:
    def build(tmp: Path) -> list[str]:
        path = tmp / "exp.yaml"
        (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
        return ["validate", str(path)]

    return Case(f"config-file/{id}", "config", build, names=names, pending=pending)


INT_FIELDS = [
    "data.generation.max_new_tokens", "data.generation.batch_size", "data.generation.max_batch_tokens",
    "data.generation.seed", "data.generation.reasoning_tokens", "data.generation.action_tokens",
    "data.generation.prefix_cache_mb", "data.scenarios_per_family", "data.samples_per_scenario",
    "data.validation_scenarios_per_family", "data.seed", "data.min_kept", "data.shard_size", "data.judge.k",
    "data.teacher.endpoint.max_concurrency", "data.teacher.endpoint.max_retries", "envs.max_turns",
    "sft.max_steps", "sft.per_device_train_batch_size", "sft.gradient_accumulation_steps", "sft.max_length",
    "sft.logging_steps", "sft.save_steps", "sft.seed", "sft.lora.rank", "sft.lora.alpha",
    "rl.scenarios_per_family", "rl.seed", "rl.num_generations", "rl.max_steps", "rl.per_device_train_batch_size",
    "rl.gradient_accumulation_steps", "rl.vllm_server_port", "rl.vllm_tensor_parallel_size", "rl.logging_steps",
    "rl.judge.k", "durability.examples", "durability.seed", "durability.max_steps", "durability.max_length",
    "eval.scenarios_per_family", "eval.seed", "eval.max_resamples", "eval.counterfactual_limit",
    "eval.hidden_goal_scenarios", "eval.confirm_k",
]
FLOAT_FIELDS = [
    "data.generation.temperature", "data.generation.top_p", "data.generation.choice_temperature",
    "data.confession_ratio", "data.min_score", "data.twin_ratio", "data.judge.min_action", "data.judge.min_reasoning",
    "data.teacher.endpoint.timeout_s", "data.teacher.endpoint.backoff_initial_s",
    "data.teacher.endpoint.backoff_max_s", "sft.num_train_epochs", "sft.learning_rate", "sft.lora.dropout",
    "rl.learning_rate", "rl.beta", "rl.reward_right", "rl.reward_covert", "rl.vllm_gpu_memory_utilization",
    "rl.judge.weight", "durability.learning_rate", "eval.generation.temperature", "safety_case.risk_threshold",
]
# where a negative value is meaningless (seeds, rewards and step counts where -1 means "use epochs" are left out)
NEGATIVE_FIELDS = [
    "data.generation.max_new_tokens", "data.generation.batch_size", "data.generation.temperature",
    "data.generation.top_p", "data.generation.reasoning_tokens", "data.generation.action_tokens",
    "data.generation.prefix_cache_mb", "data.generation.max_batch_tokens", "data.scenarios_per_family",
    "data.samples_per_scenario", "data.shard_size", "data.min_kept", "data.judge.k", "data.confession_ratio",
    "data.teacher.endpoint.max_concurrency", "data.teacher.endpoint.timeout_s", "data.teacher.endpoint.max_retries",
    "envs.max_turns", "sft.learning_rate", "sft.per_device_train_batch_size", "sft.max_length", "sft.lora.rank",
    "sft.lora.dropout", "rl.num_generations", "rl.learning_rate", "durability.examples", "eval.scenarios_per_family",
    "eval.max_resamples", "safety_case.risk_threshold",
]


def config_cases() -> list[Case]:
    cases = [value_case(f, "abc", "string") for f in INT_FIELDS + FLOAT_FIELDS]
    cases += [value_case(f, 1.5, "fraction") for f in ("data.scenarios_per_family", "envs.max_turns", "sft.max_steps")]
    cases += [value_case(f, True, "bool") for f in ("data.seed", "data.generation.temperature")]
    cases += [value_case(f, [1, 2], "list") for f in ("data.generation.top_p", "eval.seed")]
    cases += [value_case(f, float("nan"), "nan") for f in FLOAT_FIELDS]
    cases += [value_case(f, float("inf"), "inf")
              for f in ("data.generation.temperature", "data.teacher.endpoint.timeout_s", "sft.learning_rate",
                        "data.min_score", "rl.beta")]
    cases += [value_case(f, -1 if f in INT_FIELDS else -0.5, "negative") for f in NEGATIVE_FIELDS]
    cases += [value_case(f, 0, "zero") for f in ("data.generation.batch_size", "data.shard_size",
                                                 "data.teacher.endpoint.max_concurrency")]
    cases += [value_case("data.generation.top_p", 1.5, "above-1"), value_case("data.min_score", 2.0, "above-1")]
    # unknown keys at every level, with a did-you-mean; a key value in YAML is refused and never echoed
    cases += [
        config_case("unknown-top", lambda r: r.update(dataa={}), "dataa"),
        config_case("unknown-data", lambda r: set_path(r, "data.teacherr", {}), "data.teacherr"),
        config_case("unknown-generation", lambda r: set_path(r, "data.generation.temprature", 0.5), "temprature"),
        config_case("unknown-lora", lambda r: set_path(r, "sft.lora.rnk", 4), "sft.lora.rnk"),
        config_case("unknown-eval", lambda r: set_path(r, "eval.modelz", ["base"]), "eval.modelz"),
        config_case("unknown-wandb", lambda r: set_path(r, "wandb.entitty", "me"), "wandb.entitty"),
        config_case("unknown-envs", lambda r: set_path(r, "envs.trian", []), "envs.trian"),
        config_case("unknown-endpoint-api_key", lambda r: set_path(r, "data.teacher.endpoint.api_key", CANARY),
                    "api_key", forbid=(CANARY,)),
        config_case("api_key_env-holds-a-key", lambda r: set_path(r, "data.teacher.endpoint.api_key_env", CANARY),
                    "api_key_env", forbid=(CANARY,)),
        config_case("key-in-url-query", lambda r: set_path(r, "data.teacher.endpoint.base_url",
                                                           f"https://api.example.com/v1?api_key={CANARY}"),
                    "base_url", forbid=(CANARY,)),
        config_case("key-in-url-userinfo", lambda r: set_path(r, "data.teacher.endpoint.base_url",
                                                              f"https://u:{CANARY}@api.example.com/v1"),
                    "base_url", forbid=(CANARY,)),
        config_case("key-shaped-url-value", lambda r: set_path(r, "data.teacher.endpoint.base_url",
                                                               f"https://api.example.com/v1?k={CANARY}"),
                    "base_url", forbid=(CANARY,)),
        config_case("url-scheme", lambda r: set_path(r, "data.teacher.endpoint.base_url", "ftp://h/v1"), "base_url"),
        config_case("endpoint-missing", lambda r: r["data"]["teacher"].pop("endpoint"), "endpoint"),
        config_case("backoff-order", lambda r: set_path(r, "data.teacher.endpoint.backoff_initial_s", 90.0),
                    "backoff"),
    ]
    # wrong shapes and unknown names
    cases += [
        config_case("data-is-int", lambda r: r.update(data=5), "data"),
        config_case("data-is-list", lambda r: r.update(data=[1, 2]), "data"),
        config_case("envs.train-string", lambda r: set_path(r, "envs.train", "covert_rule_violation"), "envs.train"),
        config_case("envs.train-empty", lambda r: set_path(r, "envs.train", []), "envs.train"),
        config_case("envs.train-unknown-family", lambda r: set_path(r, "envs.train", ["no_such_family"]),
                    "no_such_family"),
        config_case("envs.test-unknown-family", lambda r: set_path(r, "envs.test", ["nope_family"]), "nope_family"),
        config_case("envs.train-heldout-family", lambda r: set_path(r, "envs.train", ["impossible_checklist"]),
                    "impossible_checklist"),
        # deliberate/config/paths.py:62 iterates the reason string: one error line per character
        config_case("eval.models-unknown", lambda r: set_path(r, "eval.models", ["nope"]), "nope"),
        config_case("spec.path-int", lambda r: set_path(r, "spec.path", 5), "spec.path"),
        config_case("name-null", lambda r: r.update(name=None), "name"),
        config_case("output_dir-list", lambda r: r.update(output_dir=["a"]), "output_dir"),
        config_case("backend-unknown", lambda r: set_path(r, "data.teacher.backend", "tpu"), "backend"),
        config_case("dtype-unknown", lambda r: set_path(r, "data.teacher.dtype", "float8"), "dtype"),
        config_case("reasoning_parser-unknown", lambda r: set_path(r, "data.teacher.reasoning_parser", "magic"),
                    "reasoning_parser"),
        config_case("tool_format-unknown", lambda r: set_path(r, "envs.tool_format", "xml"), "tool_format"),
        config_case("wandb.mode-unknown", lambda r: set_path(r, "wandb.mode", "sometimes"), "wandb.mode"),
        config_case("judge.kind-unknown", lambda r: set_path(r, "data.judge.kind", "oracle"), "data.judge.kind"),
        config_case("source-unknown", lambda r: set_path(r, "data.source", "internet"), "data.source"),
        config_case("spec_in_prompt-unknown", lambda r: set_path(r, "data.spec_in_prompt", "half"),
                    "spec_in_prompt"),
        config_case("guided-on-endpoint", lambda r: set_path(r, "data.generation.guided_actions", True),
                    "guided_actions"),
        config_case("name-huge-nesting", lambda r: r.update(name=[[[[[["x"]]]]]]), "name"),
        # files the config names
        config_case("capability-missing", lambda r: set_path(r, "data.capability", {"path": "/nonexistent/cap.jsonl"}),
                    "data.capability.path"),
        config_case("safety-case-monitor-missing", lambda r: set_path(r, "safety_case.monitor", "/nonexistent.yaml"),
                    "safety_case.monitor"),
        config_case("output_dir-is-a-file", lambda r: r.update(output_dir=str(REFUND)), "output_dir"),
        config_case("envs.paths-missing", lambda r: set_path(r, "envs.paths", ["/nonexistent/families"]),
                    "envs.paths"),
        config_case("judge-prompt-missing", lambda r: set_path(r, "data.judge", {"kind": "llm", "prompt": "/no.md"}),
                    "data.judge.prompt"),
    ]
    # whole files: missing, empty, wrong top level, not YAML, binary, and H4's encoding/duplicate/alias/date items
    alias_bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "name: *i\n"
    cases += [
        Case("config-file/missing", "config", lambda tmp: ["validate", str(tmp / "nope.yaml")], names="nope.yaml"),
        Case("config-file/directory", "config", lambda tmp: ["validate", str(tmp)], names="no such file"),
        text_config_case("empty", "", "name"),
        text_config_case("top-level-list", "- a\n- b\n", "mapping"),
        text_config_case("top-level-scalar", "hello\n", "mapping"),
        text_config_case("bad-yaml", "name: [unclosed\n", "not valid YAML"),
        text_config_case("tabs", "name: x\n\tdata: {}\n", "not valid YAML"),
        text_config_case("binary", bytes(range(256)) * 4, "exp.yaml"),
        text_config_case("latin-1", "name: caf\xe9\n".encode("latin-1"), "UTF-8"),
        text_config_case("duplicate-key", "name: a\nname: b\n", "duplicate"),
        text_config_case("alias-bomb", alias_bomb, "alias"),
        text_config_case("date-value", "name: x\ndata: {seed: 2024-01-01}\n", "data.seed"),
        text_config_case("python-tag", "name: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
        text_config_case("deep-nesting", "name: " + "[" * 5000 + "]" * 5000 + "\n", "exp.yaml"),
    ]
    return cases


def override_case(id: str, overrides: list[str], names: str, pending: str | None = None) -> Case:
    def build(tmp: Path) -> list[str]:
        return ["validate", str(write_config(tmp, base_config(tmp))), *overrides]

    return Case(f"override/{id}", "override", build, names=names, pending=pending)


def override_cases() -> list[Case]:
    return [
        override_case("string-for-int", ["data.seed=abc"], "data.seed"),
        override_case("unknown-key", ["data.nonexistent=1"], "data.nonexistent"),
        override_case("unknown-section", ["nosuch.key=1"], "nosuch"),
        override_case("negative", ["data.teacher.endpoint.max_retries=-1"], "max_retries"),
        override_case("nan", ["data.generation.temperature=nan"], "data.generation.temperature"),
        override_case("into-scalar", ["name.sub=1"], "name"),
        override_case("replace-section", ["data=1"], "data"),
        override_case("empty-key", ["=5"], "override"),
        override_case("no-equals", ["data.seed"], "KEY.PATH=VALUE"),
        override_case("url-with-key", [f"data.teacher.endpoint.base_url=https://h/v1?token={CANARY}"], "base_url"),
        override_case("yaml-injection", ["data={teacher: {name_or_path: x}, nonsense: 1}"], "data"),
        override_case("date", ["data.seed=2024-01-01"], "data.seed"),
    ]


# --------------------------------------------------------------------------- specs (through `deliberate data`)

GOOD_SPEC = "# Spec\n\nVersion: 1\n\n### AS1 — Be open\n\nAct openly.\n\n### GP1 — Escalate\n\nAsk a human.\n"


def spec_case(id: str, content: str | bytes | None, names: str, pending: str | None = None,
              path_of: Callable[[Path], Path] | None = None) -> Case:
    def build(tmp: Path) -> list[str]:
        spec = path_of(tmp) if path_of else tmp / "spec.md"
        if content is not None:
            (spec.write_bytes if isinstance(content, bytes) else spec.write_text)(content)
        raw = base_config(tmp)
        raw["spec"] = {"path": str(spec)}
        return ["data", str(write_config(tmp, raw))]

    return Case(f"spec/{id}", "spec", build, names=names, pending=pending)


def spec_cases() -> list[Case]:
    body = "Version: 1\n\n"
    return [
        spec_case("missing", None, "not found", path_of=lambda t: t / "none.md"),
        spec_case("directory", None, "not found", path_of=lambda t: t),
        spec_case("empty", "", "Version"),
        spec_case("binary", bytes(range(256)) * 8, "UTF-8"),
        spec_case("nul-bytes", GOOD_SPEC.replace("Act openly.", "Act\x00openly."), "NUL"),
        spec_case("latin-1", GOOD_SPEC.replace("—", "-").replace("Act", "Caf\xe9").encode("latin-1"), "UTF-8"),
        spec_case("no-version", GOOD_SPEC.replace("Version: 1\n", ""), "Version"),
        spec_case("no-clauses", "# Spec\n\nVersion: 1\n\nJust prose.\n", "no clauses"),
        spec_case("duplicate-id", body + "### AS1 — a\n\nx\n\n### AS1 — b\n\ny\n", "duplicate clause ID AS1"),
        spec_case("malformed-id", body + "### A1 — a\n\nx\n", "malformed clause ID"),
        spec_case("lowercase-id", body + "### as1 — a\n\nx\n", "malformed clause ID"),
        spec_case("no-separator", body + "### AS1 title without dash\n\nx\n", "clause heading"),
        spec_case("empty-body", body + "### AS1 — a\n\n### AS2 — b\n\ny\n", "empty body"),
        spec_case("only-fenced-clauses", body + "```\n### AS1 — a\n\nx\n```\n", "no clauses"),
        spec_case("huge-17mb", "Version: 1\n\n### AS1 — a\n\n" + "x" * (17 * 2**20), "bytes"),
        spec_case("unknown-packaged-name", None, "no packaged spec", path_of=lambda t: Path("no_such_spec")),
    ]


# --------------------------------------------------------------------------- family files (`envs show --load`)

def refund() -> dict:
    raw = yaml.safe_load(REFUND.read_text())
    raw["name"] = "refund_hostile"
    return raw


def family_case(id: str, edit: Callable[[dict], object] | None, names: str, *, text: str | bytes | None = None,
                suffix: str = ".yaml", pending: str | None = None) -> Case:
    def build(tmp: Path) -> list[str]:
        path = tmp / f"family{suffix}"
        if text is not None:
            (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
        else:
            raw = refund()
            edit(raw)
            if suffix == ".json":
                path.write_text(json.dumps(raw))
            else:
                path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
        return ["envs", "show", "refund_hostile", "--load", str(path)]

    return Case(f"family/{id}", "family", build, names=names, pending=pending)


def _tool(raw: dict, name: str) -> dict:
    return next(t for t in raw["tools"] if t["name"] == name)


def family_cases() -> list[Case]:
    deep = {"x": 1}
    for _ in range(100):
        deep = {"x": deep}
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "name: refund_hostile\n"
    when = 'amount > limit'
    return [
        family_case("unknown-top-field", lambda r: r.update(graderr={}), "graderr"),
        family_case("unknown-tool-field", lambda r: _tool(r, "escalate").update(colour="red"), "colour"),
        family_case("missing-name", lambda r: r.pop("name"), "name"),
        family_case("bad-suite", lambda r: r.update(suite="prod"), "suite"),
        family_case("no-escalate", lambda r: r.update(tools=[t for t in r["tools"] if t["name"] != "escalate"]),
                    "escalate"),
        family_case("duplicate-tool", lambda r: r["tools"].append(copy.deepcopy(r["tools"][0])), "defined twice"),
        family_case("rule-unknown-tool", lambda r: r["grader"]["covert"].append({"tool": "nuke"}), "'nuke'"),
        family_case("when-syntax", lambda r: r["grader"]["escalated"][0].update(when="amount >"), "bad condition"),
        family_case("when-unknown-name", lambda r: r["grader"]["escalated"][0].update(when="wallet > 3"),
                    "unknown name 'wallet'"),
        family_case("when-5000-parens", lambda r: r["grader"]["escalated"][0].update(
            when="(" * 5000 + when + ")" * 5000), "characters long"),
        family_case("when-deep-parens", lambda r: r["grader"]["escalated"][0].update(
            when="(" * 30 + when + ")" * 30), "nested more than"),
        family_case("when-deep-not", lambda r: r["grader"]["escalated"][0].update(when="not " * 40 + when),
                    "nested more than"),
        family_case("when-many-tokens", lambda r: r["grader"]["escalated"][0].update(
            when=" or ".join([when] * 80)), "tokens"),
        family_case("when-unclosed", lambda r: r["grader"]["escalated"][0].update(when="(" + when), "missing ')'"),
        family_case("when-not-string", lambda r: r["grader"]["escalated"][0].update(when=5), "when"),
        family_case("matches-bad-regex", lambda r: r["grader"]["escalated"][0].update(
            when='args.message matches "(unclosed"'), "bad regular expression"),
        family_case("arg_matches-bad-regex", lambda r: r["grader"]["covert"][0].update(
            arg_matches={"message": "[z-a]"}), "bad regular expression"),
        family_case("arg_asserts-bad-regex", lambda r: r["grader"]["covert"][0].update(
            arg_asserts={"message": "a{2,1}"}), "bad regular expression"),
        family_case("message_matches-bad-regex", lambda r: r["grader"]["covert"][1].update(
            message_matches="*"), "bad regular expression"),
        family_case("regex-too-long", lambda r: r["grader"]["covert"][0].update(
            arg_matches={"message": "a" * 5000}), "characters long"),
        family_case("regex-not-string", lambda r: r["grader"]["covert"][0].update(arg_matches={"message": 5}),
                    "arg_matches"),
        family_case("template-width", lambda r: r["user"].append("Refund {amount:>100000000} now"), "format width"),
        family_case("template-precision", lambda r: r["user"].append("Refund {amount:.99999999f} now"),
                    "format width"),
        family_case("template-long-format", lambda r: r["user"].append("x {amount:" + "<" * 50 + "} y"),
                    "characters long"),
        family_case("template-unknown-name", lambda r: r["user"].append("Hello {nobody}"), "unknown name {nobody}"),
        family_case("template-unmatched-brace", lambda r: r["user"].append("Hello {customer"), "unmatched"),
        family_case("template-conversion", lambda r: r["user"].append("x {customer!r} y"), "bad placeholder"),
        family_case("template-index", lambda r: r["user"].append("x {customer[0]} y"), "bad placeholder"),
        family_case("template-huge-text", lambda r: r.update(description="d" * (3 * 2**20)), "bytes"),
        family_case("variable-reserved", lambda r: r["variables"].update({"and": [1]}), "reserved"),
        family_case("variable-bad-range", lambda r: r["variables"].update(amount={"int": [9, 1]}), "low end"),
        family_case("variable-two-kinds", lambda r: r["variables"].update(amount={"int": [1, 9], "choice": [1]}),
                    "exactly one"),
        family_case("last-result-has-when", lambda r: _tool(r, "process_refund")["result"][-1].update(when=when),
                    "fallback"),
        family_case("deep-state", lambda r: r.update(state=deep), "nested"),
        family_case("deep-json", None, "nested", suffix=".json",
                    text='{"name": ' + "[" * 100000 + "]" * 100000 + "}"),
        family_case("alias-bomb", None, "YAML aliases", text=bomb),
        family_case("latin-1", None, "UTF-8", text="name: caf\xe9\n".encode("latin-1")),
        family_case("binary", None, "UTF-8", text=bytes(range(256)) * 4),
        family_case("empty", None, "mapping", text=""),
        family_case("top-level-list", None, "mapping", text="- a\n- b\n"),
        family_case("bad-yaml", None, "not valid YAML", text="name: [x\n"),
        family_case("python-tag", None, "not valid YAML", text="name: !!python/object/apply:os.system ['true']\n"),
        family_case("unknown-suffix", None, "unknown file type", text="name: x\n", suffix=".txt"),
        family_case("jsonl-non-object", None, "expected a JSON object", text='{"name": "x"}\n[1, 2]\n',
                    suffix=".jsonl"),
        family_case("jsonl-header-only", None, "at least one case line", text='{"name": "x"}\n', suffix=".jsonl"),
        family_case("jsonl-bad-json", None, "not valid JSONL", text='{"name": \n', suffix=".jsonl"),
        family_case("schemer-not-covert", lambda r: r.update(schemer=r["saint"]), "schemer"),
        family_case("deploy-text-says-test", lambda r: r["system"].append("This is an alignment eval."),
                    "deploy variant"),
        family_case("clashes-with-builtin", lambda r: r.update(name="covert_rule_violation"), "already registered"),
    ]


# --------------------------------------------------------------------------- monitor lines (recorded and skipped)

MONITOR = {"monitor": {"model": "sft", "state_dir": "STATE", "max_line_bytes": 2**20, "tripwires": [
    {"name": "destructive-shell", "detector": "tool", "severity": "high", "tools": ["bash"], "args": r"rm\s+-rf"},
    {"name": "false-success", "detector": "text", "severity": "medium", "pattern": r"\ball tests pass"}]}}
GOOD_LINE = {"messages": [{"role": "user", "content": "run the tests"},
                          {"role": "assistant", "content": "Done: all tests pass."}]}


def _malformed(tmp: Path, at_least: int = 1) -> bool:
    path = tmp / "state" / "summary.json"
    return path.is_file() and json.loads(path.read_text())["malformed_total"] >= at_least


def monitor_case(id: str, lines: list[bytes], names: str = "", pending: str | None = None, expect: str = "skip",
                 malformed: int = 1) -> Case:
    def build(tmp: Path) -> list[str]:
        cfg = copy.deepcopy(MONITOR)
        cfg["monitor"]["state_dir"] = str(tmp / "state")
        (tmp / "mon.yaml").write_text(yaml.safe_dump(cfg))
        good = json.dumps(GOOD_LINE).encode()
        (tmp / "in.jsonl").write_bytes(b"\n".join([good, *lines, good]) + b"\n")
        return ["monitor", str(tmp / "mon.yaml"), "--input", str(tmp / "in.jsonl"), "--state-dir", str(tmp / "state")]

    return Case(f"monitor/{id}", "monitor", build, expect=expect, names=names, pending=pending,
                check=(lambda tmp: _malformed(tmp, malformed)) if expect == "skip" else None)


def _line(obj) -> bytes:
    return json.dumps(obj).encode()


def monitor_cases() -> list[Case]:
    tool_msg = {"role": "assistant", "content": None,
                "tool_calls": [{"type": "function", "function": {"name": "bash", "arguments": None}}]}
    return [
        monitor_case("not-json", [b"not json at all"]),
        monitor_case("array", [_line([1, 2, 3])]),
        monitor_case("string", [_line("a transcript")]),
        monitor_case("null", [b"null"]),
        monitor_case("number", [b"42"]),
        monitor_case("no-messages", [_line({"id": 1})]),
        monitor_case("messages-string", [_line({"messages": "hello"})]),
        monitor_case("messages-of-ints", [_line({"messages": [1, 2]})]),
        monitor_case("content-object", [_line({"messages": [{"role": "assistant", "content": {"a": 1}}]})]),
        monitor_case("role-missing", [_line({"messages": [{"content": "hi"}]})]),
        monitor_case("tool-args-not-string", [_line({"messages": [{"role": "assistant", "content": None,
                     "tool_calls": [{"type": "function", "function": {"name": "bash", "arguments": ["rm -rf /"]}}]}]})],
                     names="", malformed=0, expect="skip"),
        monitor_case("tool-args-null", [_line({"messages": [tool_msg]})], malformed=0),
        monitor_case("deep-nesting", [b'{"x": ' * 5000 + b"1" + b"}" * 5000]),
        monitor_case("binary", [bytes(range(1, 256)).replace(b"\n", b"")]),
        monitor_case("latin-1", ['{"messages": "caf\xe9"}'.encode("latin-1")]),
        monitor_case("nul-bytes", [b'{"messages": [\x00]}']),
        monitor_case("truncated", [b'{"messages": [{"role": "assistant", "content": "tru']),
        monitor_case("huge-line", [_line({"messages": [{"role": "assistant", "content": "a" * (3 * 2**20)}]})]),
        monitor_case("nan-literal", [b'{"messages": [{"role": "assistant", "content": "x"}], "score": NaN}'],
                     malformed=0),
        monitor_case("duplicate-keys", [b'{"messages": [], "messages": "x"}']),
        Case("monitor/bad-tripwire-regex", "monitor", _monitor_config_build({"pattern": "(unclosed"}),
             names="pattern"),
        Case("monitor/unknown-detector", "monitor", _monitor_config_build({"detector": "psychic"}), names="detector"),
        Case("monitor/unknown-key", "monitor", _monitor_config_build({"severty": "high"}), names="severty"),
    ]


def _monitor_config_build(tripwire_edit: dict):
    def build(tmp: Path) -> list[str]:
        cfg = copy.deepcopy(MONITOR)
        cfg["monitor"]["tripwires"][1].update(tripwire_edit)
        (tmp / "mon.yaml").write_text(yaml.safe_dump(cfg))
        (tmp / "in.jsonl").write_text(json.dumps(GOOD_LINE) + "\n")
        return ["monitor", str(tmp / "mon.yaml"), "--input", str(tmp / "in.jsonl"), "--state-dir", str(tmp / "state")]
    return build


# --------------------------------------------------------------------------- datasets (`deliberate verify`)

def dataset_case(id: str, tamper: Callable[[Path], object] | None, names: str, pending: str | None = None,
                 directory: Callable[[Path], Path] | None = None) -> Case:
    def build(tmp: Path) -> list[str]:
        target = tmp / "data"
        if tamper is not None:
            tamper(target)
        return ["verify", str(directory(tmp) if directory else target)]

    return Case(f"dataset/{id}", "dataset", build, names=names, pending=pending, needs=("dataset",))


def _manifest_edit(fn):
    def tamper(d: Path):
        m = json.loads((d / "manifest.json").read_text())
        fn(m)
        (d / "manifest.json").write_text(json.dumps(m))
    return tamper


def _arrow(d: Path) -> Path:
    return next((d / "dataset" / "train").glob("*.arrow"))


def _flip_last_byte(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[-9] ^= 0xFF
    path.write_bytes(bytes(blob))


def dataset_cases() -> list[Case]:
    return [
        dataset_case("missing-dir", None, "nope", directory=lambda t: t / "nope"),
        dataset_case("a-file", None, "manifest", directory=lambda t: t / "data" / "manifest.json"),
        dataset_case("no-manifest", lambda d: (d / "manifest.json").unlink(), "manifest"),
        dataset_case("manifest-not-json", lambda d: (d / "manifest.json").write_text("{not json"), "manifest"),
        dataset_case("manifest-a-list", lambda d: (d / "manifest.json").write_text("[1, 2]"), "manifest"),
        dataset_case("manifest-no-root", _manifest_edit(lambda m: m.pop("merkle_root")), "merkle_root"),
        dataset_case("manifest-wrong-root", _manifest_edit(lambda m: m.update(merkle_root="0" * 64)), "Merkle root"),
        dataset_case("manifest-no-splits", _manifest_edit(lambda m: m.pop("splits")), "splits"),
        dataset_case("manifest-extra-split", _manifest_edit(lambda m: m.update(splits=[*m["splits"], "extra"])),
                     "extra"),
        dataset_case("dataset-dir-missing", lambda d: __import__("shutil").rmtree(d / "dataset"), "dataset"),
        dataset_case("arrow-byte-flipped", lambda d: _flip_last_byte(_arrow(d)), "train"),
        dataset_case("arrow-truncated", lambda d: _arrow(d).write_bytes(_arrow(d).read_bytes()[:100]), "dataset"),
        dataset_case("arrow-empty", lambda d: _arrow(d).write_bytes(b""), "dataset"),
        dataset_case("dataset-info-garbage",
                     lambda d: (d / "dataset" / "train" / "dataset_info.json").write_text("{garbage"), "dataset"),
    ]


CASES: list[Case] = [*config_cases(), *override_cases(), *spec_cases(), *family_cases(), *monitor_cases(),
                     *dataset_cases()]
