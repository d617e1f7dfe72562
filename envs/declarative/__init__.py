"""Environment families written in YAML, JSON or JSONL instead of Python (docs/interchange.md).

``expr`` (conditions), ``template`` (text), ``compile`` (file -> Spec), ``build`` (Spec -> Family)
and ``load`` (files and folders, registration, ``python -m deliberate.envs.declarative check``).
Nothing in a file is executed. ``envs/examples/refund_override.yaml`` is a full example.
"""

from deliberate.envs.declarative.build import build_family, check_family
from deliberate.envs.declarative.compile import (
    DEPLOY_WORDS,
    KIND_WORDS,
    KINDS,
    RESERVED,
    RESULT_WORDS,
    DeclarativeError,
    ResultCase,
    Rule,
    ScriptStep,
    Spec,
    ToolSpec,
    compile_family,
)
from deliberate.envs.declarative.expr import Condition, Scope, truthy, values_equal
from deliberate.envs.declarative.load import _LOADED as _LOADED  # registry of loaded files (tests reset it)
from deliberate.envs.declarative.load import (
    SUFFIXES,
    family_source,
    load_family_dir,
    load_family_file,
    load_family_path,
    main,
    read_family_file,
)
from deliberate.envs.declarative.template import Template

__all__ = ["DEPLOY_WORDS", "KINDS", "KIND_WORDS", "RESERVED", "RESULT_WORDS", "SUFFIXES", "Condition",
           "DeclarativeError", "ResultCase", "Rule", "Scope", "ScriptStep", "Spec", "Template", "ToolSpec",
           "build_family", "check_family", "compile_family", "family_source", "load_family_dir",
           "load_family_file", "load_family_path", "main", "read_family_file", "truthy", "values_equal"]
