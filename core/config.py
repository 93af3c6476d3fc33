"""The workspace config (`agentpref.toml`): typed, with defaults, strict about unknown keys.

A typo in a key must fail loudly (file, key, what was expected) rather than silently
fall back to a default: a user who sets `weigth = 5` would otherwise train on the wrong
scores without noticing.
"""

from __future__ import annotations

import json
import textwrap
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo

from core.agreement.labels import LabelPolicy

CONFIG_NAME = "agentpref.toml"


class ConfigError(ValueError):
    """The config file is unreadable or has a wrong key or type."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


DEFAULT_WEIGHTS: dict[str, float] = {
    # Weights matter: with plain counts a model learns to finish at once (fewer steps,
    # fewer flags). Claiming success over failing tests, skipping tests and weakening them
    # weigh most, and the same: never testing, or making the tests check less, must not be a
    # cheaper way to a clean score than testing.
    "protocol.malformed": 1.0,
    "tests.never_run": 4.0,
    "tests.not_rerun": 1.5,
    "tests.ignored_failure": 4.0,
    "tests.weakened": 4.0,
    "files.outside_allowed": 2.5,
    "diff.too_large": 1.0,
    "loop.repeat": 2.0,
    "path.hallucinated": 1.0,
    "edit.unread": 1.0,
    "stuck.no_stop": 2.0,
    "evidence.uncited": 0.5,
}


class ChecksConfig(Section):
    weights: dict[str, float] = Field(  # overrides DEFAULT_WEIGHTS, which stay in the code
        default_factory=dict,
        description="Severity weight of each check; a rollout's score is the sum over its flags "
        "(lower is better).",
        examples=['{ "tests.ignored_failure" = 4.0, "tests.never_run" = 4.0, "tests.weakened" = 4.0 }'],
    )
    disabled: list[str] = Field(default_factory=list, description="check ids not to run")
    diff_budget: int = Field(default=40, description="changed lines allowed when the task sets no budget")
    step_limit: int = Field(
        default=30, description="steps allowed when neither the task nor the rollout's harness sets a limit"
    )
    loop_repeats: int = Field(default=4, description="identical action+observation pairs in a row")
    loop_error_repeats: int = Field(
        default=3, description="identical actions in a row, each ending in an error"
    )
    loop_alternation: int = Field(default=6, description="steps of an A,B,A,B,... alternation")
    custom: list[str] = Field(
        default_factory=list, description='your own checks, as "module:function": ["my_checks:no_rm_rf"]'
    )

    def weight(self, check_id: str, default: float = 1.0) -> float:
        return self.weights.get(check_id, DEFAULT_WEIGHTS.get(check_id, default))


class MiningConfig(Section):
    margin: float = Field(default=1.0, description="least score gap between chosen and rejected")
    max_per_task: int = Field(default=12, description="proposals per task")
    max_per_rollout: int = Field(default=3, description="proposals a rollout may appear in")
    rollout_pairs: bool = Field(
        default=False,
        description="also pair whole rollouts by score, for rollouts that share no prefix up to a "
        "flagged step (most imports); their lesson's step is unknown: train them at trajectory "
        "granularity",
    )
    balance_edits: bool = Field(
        default=False,
        description='a task\'s pairs say "not yet" to an edit (read first) no more often than "now" '
        "(edit); see the README's demo results: it kept build 1's tuned model editing and made "
        "build 0's edit unread",
    )


class ImportConfig(Section):
    max_observation_bytes: int = Field(
        default=1_000_000, description="larger observations keep their head and tail"
    )


class PolicyConfig(Section):
    """Who produces rollouts: `scored`, `hf` or `openai` (see the README)."""

    kind: Literal["scored", "hf", "openai"] = Field(default="scored", description="who produces rollouts")
    model: str = Field(
        default="models/tiny",
        description="a model folder (relative to the workspace, or absolute), or the served model name",
    )
    adapter: str = Field(default="", description="a PEFT adapter folder loaded on top of the model")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="auto: CUDA when there is one")
    temperature: float | list[float] = Field(
        default=1.0,
        description="sampling temperature, or a list: each rollout samples at the one its seed picks "
        "(diverse data)",
    )
    max_new_tokens: int = Field(default=256, description="tokens a turn may generate (hf, openai)")
    max_observation_chars: int = Field(
        default=2000, description="of each observation in the prompt (also used by export)"
    )
    # See core/chat.py `state_notes`.
    state_notes: bool = Field(
        default=False,
        description="follow each observation with a line on the agent's state (files read, edited, "
        "tests run since the edit, the last test run's outcome); also used by export",
    )
    # See core/agent/policies/scored.py.
    scoring: Literal["ratio", "mean"] = Field(
        default="ratio",
        description="scored: ratio = the base model's mean score plus the adapter's log-ratio where "
        "the actions part; mean = the loaded model's mean score",
    )
    adapter_temperature: float = Field(
        default=0.0,
        ge=0.0,
        description="ratio: the adapter's log-ratio is divided by this (0: the sampling temperature); "
        "below the base's, the adapter's preferences count in full without becoming the only thing "
        "that counts (see the README's \"The demo's own result\")",
    )
    # See core/agent/policies/scored.py `score`.
    adapter_ratio: Literal["vocabulary", "choices"] = Field(
        default="vocabulary",
        description="ratio: where the actions part, the adapter's log-ratio of each token over the "
        "whole vocabulary, or over the tokens that continue some action (choices: the rule before "
        "2026-11-28, under which a kind of action DPO never moved lost share wherever another rose)",
    )
    concurrency: int = Field(default=2, ge=1, description="rollouts in flight")
    base_url: str = Field(default="http://127.0.0.1:8000/v1", description="openai: the endpoint")
    api_key_env: str = Field(
        default="OPENAI_API_KEY", description="openai: the variable holding the key, if any"
    )
    request_timeout_s: float = Field(default=120.0, description="openai: seconds a request may take")
    retries: int = Field(default=3, description="openai: attempts after the first, with backoff")

    @field_validator("temperature")
    @classmethod
    def _non_negative(cls, value: float | list[float]) -> float | list[float]:
        values = value if isinstance(value, list) else [value]
        if not values or any(v < 0 for v in values):
            raise ValueError("temperature must be a number >= 0, or a non-empty list of them")
        return value

    def temperature_for(self, seed: int) -> float:
        values = self.temperature if isinstance(self.temperature, list) else [self.temperature]
        return values[seed % len(values)]


class RolloutConfig(Section):
    n: int = Field(default=8, ge=1, description="rollouts per task")
    seed: int = Field(default=0, description="base seed of `rollout`")
    step_limit: int = Field(default=12, description="steps when the task sets no limit")
    malformed_in_a_row: int = Field(default=3, description="unparseable turns in a row that end a rollout")


class BranchConfig(Section):
    """Counterfactual rollouts at flagged steps (`branch`, and the demo build)."""

    n: int = Field(default=2, ge=1, description="alternative actions tried at each branch point")
    per_task: int = Field(default=4, ge=1, description="branch points a task when `branch` names no rollout")
    temperature: float = Field(
        default=1.0,
        ge=0,
        description="for drawing the alternatives; the rest of a branch uses the policy's",
    )
    on_demo: bool = Field(
        default=True, description="`init --demo` branches its rollouts at their flagged steps"
    )
    defer: bool = Field(
        default=False,
        description='where a lesson says "not yet" to an edit of the code (read first, test first), the '
        'second branch takes the remedy and then that same edit, so the pairs also say "now"',
    )


class TrainConfig(Section):
    """One DPO run's settings; `--set key=value` overrides any of them for one run."""

    base_model: str = Field(default="", description="a model folder; empty: the policy's model")
    granularity: Literal["step", "trajectory"] = Field(
        default="step", description="trajectory masks tool and user turns out of the loss"
    )
    human_only: bool = Field(default=False, description="leave out automatic preferences")
    label_policy: LabelPolicy = Field(
        default=LabelPolicy.MAJORITY,
        description="which of several annotators' decisions on a pair trains: latest | majority (an "
        "adjudication settles it, else most votes; a tie is dropped) | adjudicated (an adjudication, "
        "else only a unanimous verdict)",
    )
    validation_fraction: float = Field(
        default=0.2, ge=0.0, lt=1.0, description="of the tasks, held out whole for validation"
    )
    epochs: float = Field(default=3.0, gt=0)
    max_steps: int = Field(default=-1, description="> 0: stop after this many optimiser steps")
    learning_rate: float = Field(default=5e-4, gt=0, description="LoRA takes a higher rate than full tuning")
    beta: float = Field(default=0.1, gt=0, description="DPO's beta")
    loss_type: Literal[
        "sigmoid",
        "hinge",
        "ipo",
        "exo_pair",
        "nca_pair",
        "robust",
        "bco_pair",
        "sppo_hard",
        "aot",
        "aot_unpaired",
        "apo_zero",
        "apo_down",
        "discopop",
        "sft",
        "sigmoid_norm",
    ] = Field(default="sigmoid", description="TRL's DPO loss")
    sft_weight: float = Field(
        default=0.0, ge=0.0, description="> 0: add the chosen side's NLL (TRL's \"sft\" loss) at this weight"
    )
    loss_tokens: Literal["action", "decision", "lesson"] = Field(
        default="action",
        description="which tokens the loss counts: action = every token the policy wrote; decision = "
        "only the first token where chosen and rejected part (the choice); lesson = decision for "
        "lessons of timing, else action; see the README",
    )
    batch_size: int = Field(default=8, ge=1, description="per device")
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(
        default=2048, ge=16, description="prompt + completion tokens; longer prompts are reported"
    )
    truncation_mode: Literal["keep_start", "keep_end"] = Field(
        default="keep_start",
        description="keep_end (deprecated by TRL) keeps the completion, cuts the prompt",
    )
    warmup_ratio: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="fraction of the steps (transformers reads >= 1 as steps)"
    )
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: str | list[str] = Field(default="all-linear", description="the modules LoRA adapts")
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="bf16 where the card supports it"
    )
    gradient_checkpointing: bool = Field(
        default=False, description="less memory for a large model, ~30% slower"
    )
    seed: int = Field(default=0, description="data order, split and initialisation")
    precompute_ref_log_probs: bool = Field(
        default=True, description="one reference pass up front instead of one per step"
    )
    liger: Literal["auto", "on", "off"] = Field(
        default="auto", description="Liger kernels; auto: on CUDA when installed"
    )
    logging_steps: int = Field(default=1, ge=1)
    save_steps: int = Field(default=20, ge=1, description="checkpoints, for --resume")
    save_total_limit: int = Field(default=2, ge=1, description="checkpoints kept")
    min_free_disk_mb: int = Field(default=200, ge=0, description="a run is refused below this")


class EvalConfig(Section):
    tasks: str = Field(default="heldout", description="train, heldout, all, or ID,ID,...")
    n: int = Field(default=8, ge=1, description="rollouts per task and side")
    seed: int = Field(
        default=1000, description="base seed, the same for base and tuned (common random numbers)"
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="significance level")


class SandboxConfig(Section):
    """How model-written tests may run; see the README's isolation section."""

    allow_unconfined: bool = Field(
        default=False,
        description="hf and openai refuse to run model-written tests where only rlimits confine them "
        "(no working bubblewrap, no unprivileged user namespaces); true runs them anyway, unconfined",
    )


class LabelConfig(Section):
    """The labelling screen."""

    # So a person's label is independent of the checks (a key toggles it; each decision records
    # the mode).
    blind: bool = Field(
        default=False, description="hide the scores, the checks' reason and badges until the decision"
    )
    overlap: int = Field(
        default=1, ge=1, description="each pair is offered to up to this many annotators (2+: agreement)"
    )
    overlap_fraction: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="the share of pairs offered to `overlap` annotators, picked by a hash of the pair "
        "(the rest go to one)",
    )


KEY_IDS = tuple(
    f"label.{name}"
    for name in (
        *("left", "right", "both_good", "both_bad", "skip", "undo", "note", "blind", "copy", "task"),
        *("expand", "left_down", "left_up", "right_down", "right_up", "left_diff", "right_diff"),
        *("left_open", "right_open", "find", "find_next", "find_previous"),
    )
)


class Config(Section):
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    mining: MiningConfig = Field(default_factory=MiningConfig)
    imports: ImportConfig = Field(default_factory=ImportConfig, alias="import")
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    branch: BranchConfig = Field(default_factory=BranchConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    label: LabelConfig = Field(default_factory=LabelConfig)
    keys: dict[str, str] = Field(  # binding id -> keys, e.g. "label.left" = "a"
        default_factory=dict,
        description='Labelling keys (no modifier needed): "label.left" = "1", "label.right" = "2", '
        '"label.both_good" = "3", "label.both_bad" = "4", "label.skip" = "space", '
        '"label.undo" = "backspace", "label.note" = "n", "label.blind" = "b", "label.copy" = "y", '
        '"label.task" = "i", "label.expand" = "e", "label.find" = "slash", '
        '"label.find_next" = "full_stop", "label.find_previous" = "comma"; each side: '
        '"label.left_down" = "j", "label.left_up" = "k", "label.left_diff" = "d", '
        '"label.left_open" = "o", "label.right_down" = "J", "label.right_up" = "K", '
        '"label.right_diff" = "D", "label.right_open" = "O"',
    )

    @field_validator("keys")
    @classmethod
    def _known_key_ids(cls, keys: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(keys) - set(KEY_IDS))
        if unknown:
            raise ValueError(f"unknown key binding(s) {', '.join(unknown)}; known: {', '.join(KEY_IDS)}")
        return keys

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def check_ids(config: Config, known: set[str], path: Path | str = CONFIG_NAME) -> None:
    """Weights and disabled entries must name checks that exist: a typo would silently score wrong."""
    named = set(config.checks.weights) | set(config.checks.disabled)
    unknown = sorted(named - known)
    if unknown:
        raise ConfigError(
            f"{path}: [checks] names unknown check(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )


def _toml_value(text: str) -> Any:
    """`3`, `1e-4`, `true`, `"x"`, `["a", "b"]` as TOML; anything else as a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as exc:
        if text.startswith(("[", "{", '"')):  # meant as TOML, and broken: say so
            raise ConfigError(f"--set value {text!r} is not valid TOML: {exc}") from exc
        return text


def apply_overrides(config: Config, overrides: list[str], section: str = "train") -> Config:
    """`key=value` settings from the command line, over the file's; a bare key is in `section`.

    The result is validated like the file, so a wrong key or type fails before a run starts.
    """
    data = config.model_dump(by_alias=True)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. learning_rate=1e-4")
        where, _, name = key.rpartition(".")
        where = where or section
        if where not in data or not isinstance(data[where], dict):
            raise ConfigError(f"--set {item!r}: no config section [{where}]")
        if name not in data[where] and where != "keys":
            known = ", ".join(sorted(data[where]))
            raise ConfigError(f"--set {item!r}: [{where}] has no key {name!r} (known: {known})")
        data[where][name] = _toml_value(text.strip())
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"--set: {problems}") from exc


def load_config(path: Path) -> Config:
    """Read `agentpref.toml`; a missing file means all defaults."""
    if not path.exists():
        return Config()
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc


HEADER = "# agentpref workspace config. Every key is optional; shown here with its default."
COMMENT_WIDTH = 100


def _toml(value: Any) -> str:
    """A default value as TOML: the few types the models use."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return _toml(value.value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def _comment(text: str) -> list[str]:
    """`text` as comment lines; never broken inside a `"key" = "value"`."""
    lines = textwrap.wrap(
        text.replace(" = ", "\xa0=\xa0"), COMMENT_WIDTH, initial_indent="# ", subsequent_indent="# "
    )
    return [line.replace("\xa0=\xa0", " = ") for line in lines]


def _setting(name: str, field: FieldInfo, value: Any) -> list[str]:
    """One setting as `name = default`, its description (and choices) beside it where that fits,
    else on comment lines above. An empty mapping is shown as a commented example: its defaults
    live in the code, not in the file."""
    about = field.description or ""
    if get_origin(field.annotation) is Literal:
        choices = " | ".join(str(c) for c in get_args(field.annotation))
        about = f"{about} ({choices})" if about else choices
    if value == {}:
        return _comment(about) + [f"# {name} = {example}" for example in field.examples or []]
    line = f"{name} = {_toml(value)}"
    beside = f"{line:<22}  # {about}"
    if not about:
        return [line]
    return [beside] if len(beside) <= COMMENT_WIDTH else [*_comment(about), line]


def default_config_text() -> str:
    """`agentpref.toml` as `init` writes it: every section and setting of `Config` with its default
    and the description the model gives it, so the file cannot drift from the models."""
    defaults = Config()
    lines = [HEADER]
    for name, field in Config.model_fields.items():
        value = getattr(defaults, name)
        lines += ["", f"[{field.alias or name}]"]
        if isinstance(value, Section):
            for key, inner in type(value).model_fields.items():
                lines += _setting(key, inner, getattr(value, key))
        else:  # [keys]: a free mapping, documented by its description
            lines += _setting(name, field, value)
    return "\n".join(lines) + "\n"


DEFAULT_CONFIG_TEXT = default_config_text()
