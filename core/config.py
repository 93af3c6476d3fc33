"""The workspace config (`agentpref.toml`): typed, with defaults, strict about unknown keys.

A typo in a key must fail loudly (file, key, what was expected) rather than silently
fall back to a default: a user who sets `weigth = 5` would otherwise train on the wrong
scores without noticing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
    weights: dict[str, float] = Field(default_factory=dict)  # overrides DEFAULT_WEIGHTS
    disabled: list[str] = Field(default_factory=list)
    diff_budget: int = 40  # changed lines, when the task sets none
    step_limit: int = 30  # when the task and the rollout's harness set none
    loop_repeats: int = 4  # identical action+observation pairs in a row
    loop_error_repeats: int = 3  # identical actions in a row that each ended in an error
    loop_alternation: int = 6  # steps of an A,B,A,B,... alternation
    custom: list[str] = Field(default_factory=list)  # "module:function" of user checks

    def weight(self, check_id: str, default: float = 1.0) -> float:
        return self.weights.get(check_id, DEFAULT_WEIGHTS.get(check_id, default))


class MiningConfig(Section):
    margin: float = 1.0  # least score gap for a proposal
    max_per_task: int = 12
    max_per_rollout: int = 3
    # Whole rollouts compared by score, for rollouts that share no prefix up to a flagged step
    # (most imports). Their lesson's step is unknown: train them at trajectory granularity.
    rollout_pairs: bool = False


class ImportConfig(Section):
    max_observation_bytes: int = 1_000_000  # larger observations keep head and tail


class PolicyConfig(Section):
    """Who produces rollouts: `scored`, `hf` or `openai` (see the README)."""

    kind: Literal["scored", "hf", "openai"] = "scored"
    model: str = "models/tiny"  # a folder (relative to the workspace, or absolute), or the served name
    adapter: str = ""  # a PEFT adapter folder to load on top of `model`
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # One value, or several: each rollout then samples at the one its seed picks (diverse data).
    temperature: float | list[float] = 1.0
    max_new_tokens: int = 256  # hf and openai
    max_observation_chars: int = 2000  # of each observation in the prompt (also used by export)
    # scored: "ratio" = the base model's mean score plus the adapter's log-ratio where the actions
    # part (see core/agent/scored.py); "mean" = the loaded model's mean score
    scoring: Literal["ratio", "mean"] = "ratio"
    # ratio: the temperature the adapter's log-ratio is divided by; 0 = the sampling temperature.
    # Below the base's, the adapter's preferences count in full without becoming the only thing
    # that counts (see the README's "The demo's own result").
    adapter_temperature: float = Field(default=0.0, ge=0.0)
    concurrency: int = Field(default=2, ge=1)  # rollouts in flight
    base_url: str = "http://127.0.0.1:8000/v1"  # openai
    api_key_env: str = "OPENAI_API_KEY"  # openai: the variable holding the key, if any
    request_timeout_s: float = 120.0
    retries: int = 3

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
    n: int = Field(default=8, ge=1)  # rollouts per task
    seed: int = 0
    step_limit: int = 12  # when the task sets none
    malformed_in_a_row: int = 3  # unparseable turns in a row that end a rollout


class BranchConfig(Section):
    """Counterfactual rollouts at flagged steps (`branch`, and the demo build)."""

    n: int = Field(default=2, ge=1)  # alternative actions tried at each branch point
    per_task: int = Field(default=4, ge=1)  # branch points a task, when none is named
    temperature: float = Field(default=1.0, ge=0)  # for drawing the alternatives (then the policy's)
    on_demo: bool = True  # `init --demo` branches its rollouts at their flagged steps


class TrainConfig(Section):
    """One DPO run's settings; `--set key=value` overrides any of them for one run."""

    base_model: str = ""  # a model folder; empty: the policy's model
    granularity: Literal["step", "trajectory"] = "step"
    human_only: bool = False  # leave out automatic preferences
    validation_fraction: float = Field(default=0.2, ge=0.0, lt=1.0)  # of the tasks, held out whole
    epochs: float = Field(default=3.0, gt=0)
    max_steps: int = -1  # > 0 stops after this many optimiser steps
    learning_rate: float = Field(default=5e-4, gt=0)
    beta: float = Field(default=0.1, gt=0)
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
    ] = "sigmoid"  # TRL's DPO losses
    sft_weight: float = Field(default=0.0, ge=0.0)  # > 0 adds TRL's "sft" loss (NLL of chosen) at this weight
    # "decision": the loss sees only the first token where chosen and rejected part (the choice);
    # "action": every token the policy wrote; "lesson": decision for lessons of timing, else action
    loss_tokens: Literal["action", "decision", "lesson"] = "action"
    batch_size: int = Field(default=8, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    max_length: int = Field(default=2048, ge=16)  # prompt + completion tokens
    truncation_mode: Literal["keep_start", "keep_end"] = "keep_start"  # TRL deprecates keep_end
    warmup_ratio: float = Field(default=0.0, ge=0.0, lt=1.0)  # transformers reads >= 1 as steps
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: str | list[str] = "all-linear"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    gradient_checkpointing: bool = False  # less memory for a large model, ~30% slower
    seed: int = 0
    precompute_ref_log_probs: bool = True  # one reference pass up front instead of one per step
    liger: Literal["auto", "on", "off"] = "auto"  # Liger kernels: auto = on CUDA when installed
    logging_steps: int = Field(default=1, ge=1)
    save_steps: int = Field(default=20, ge=1)  # checkpoints to resume from
    save_total_limit: int = Field(default=2, ge=1)
    min_free_disk_mb: int = Field(default=200, ge=0)  # refuse to start below this


class EvalConfig(Section):
    tasks: str = "heldout"  # train, heldout, all, or ID,ID,...
    n: int = Field(default=8, ge=1)  # rollouts per task and side
    seed: int = 1000  # base seed, the same on both sides (common random numbers)
    alpha: float = Field(default=0.05, gt=0, lt=1)  # significance level


class SandboxConfig(Section):
    """How model-written tests may run; see the README's isolation section."""

    # With neither bubblewrap nor unprivileged user namespaces, test runs have rlimits alone: the
    # hf and openai policies, whose model writes the code, refuse to run them unless this is true.
    allow_unconfined: bool = False


class LabelConfig(Section):
    """The labelling screen."""

    # Hide the scores, the checks' reason and the flag badges until the decision, so a person's
    # label is independent of the checks (a key toggles it; each decision records the mode).
    blind: bool = False


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
    keys: dict[str, str] = Field(default_factory=dict)  # binding id -> keys, e.g. "label.left" = "a"

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


DEFAULT_CONFIG_TEXT = """\
# agentpref workspace config. Every key is optional; shown here with its default.

[checks]
# Severity weight of each check; a rollout's score is the sum over its flags (lower is better).
# weights = { "tests.ignored_failure" = 4.0, "tests.never_run" = 4.0, "tests.weakened" = 4.0 }
disabled = []
diff_budget = 40        # changed lines allowed when the task sets no budget
step_limit = 30         # steps when the task sets no limit
loop_repeats = 4        # identical action+observation pairs in a row
loop_error_repeats = 3  # identical actions in a row, each ending in an error
loop_alternation = 6    # steps of an A,B,A,B,... alternation
custom = []             # your own checks: ["my_checks:no_rm_rf"]

[mining]
margin = 1.0            # least score gap between chosen and rejected
max_per_task = 12
max_per_rollout = 3
rollout_pairs = false   # also pair whole rollouts by score (for imports without shared prefixes)

[import]
max_observation_bytes = 1000000  # larger observations keep their head and tail

[policy]
kind = "scored"         # scored | hf | openai
model = "models/tiny"   # a model folder (relative to the workspace), or the served model name
adapter = ""            # a PEFT adapter folder on top of the model
device = "auto"         # auto | cpu | cuda
temperature = 1.0       # or a list: each rollout samples at the one its seed picks
max_new_tokens = 256    # hf, openai
max_observation_chars = 2000
scoring = "ratio"       # scored: ratio (base score + the adapter's log-ratio) | mean
adapter_temperature = 0.0  # ratio: divides the adapter's log-ratio (0: the sampling temperature)
concurrency = 2         # rollouts in flight
base_url = "http://127.0.0.1:8000/v1"   # openai
api_key_env = "OPENAI_API_KEY"
request_timeout_s = 120.0
retries = 3

[rollout]
n = 8                   # rollouts per task
seed = 0
step_limit = 12         # when the task sets none
malformed_in_a_row = 3  # unparseable turns in a row end the rollout

[branch]
n = 2                   # alternative actions tried at each branch point
per_task = 4            # branch points a task when `branch` names no rollout
temperature = 1.0       # for drawing the alternatives; the rest of a branch uses the policy's
on_demo = true          # `init --demo` branches its rollouts at their flagged steps

[train]
base_model = ""         # a model folder; empty: the policy's model
granularity = "step"    # step | trajectory (trajectory masks tool and user turns out of the loss)
human_only = false      # leave out automatic preferences
validation_fraction = 0.2   # of the tasks, held out whole for validation
epochs = 3.0
max_steps = -1          # > 0: stop after this many optimiser steps
learning_rate = 5e-4
beta = 0.1
loss_type = "sigmoid"
sft_weight = 0.0        # > 0: add the chosen side's NLL ("sft" loss) at this weight
loss_tokens = "action"  # action | decision (the first token where the sides part) | lesson (see README)
batch_size = 8
gradient_accumulation_steps = 1
max_length = 2048       # prompt + completion tokens; longer prompts are reported
truncation_mode = "keep_start"  # keep_end (deprecated by TRL) keeps the completion, cuts the prompt
warmup_ratio = 0.0
lora_r = 16
lora_alpha = 32
lora_dropout = 0.0
target_modules = "all-linear"
device = "auto"         # auto | cpu | cuda (bf16 where the card supports it)
gradient_checkpointing = false
seed = 0
precompute_ref_log_probs = true
liger = "auto"          # auto | on | off: Liger kernels on CUDA when installed
logging_steps = 1
save_steps = 20         # checkpoints, for --resume
save_total_limit = 2
min_free_disk_mb = 200

[eval]
tasks = "heldout"
n = 8                   # rollouts per task and side
seed = 1000             # the same seeds for base and tuned (common random numbers)
alpha = 0.05

[sandbox]
# hf and openai refuse to run model-written tests where only rlimits confine them (no working
# bubblewrap, no unprivileged user namespaces); true runs them anyway, unconfined.
allow_unconfined = false

[label]
blind = false           # hide the scores, the checks' reason and badges until the decision

[keys]
# Labelling keys (no modifier needed): "label.left" = "1", "label.right" = "2",
# "label.both_good" = "3", "label.both_bad" = "4", "label.skip" = "space",
# "label.undo" = "backspace", "label.note" = "n", "label.blind" = "b", "label.copy" = "y",
# "label.task" = "i", "label.expand" = "e", "label.find" = "slash", "label.find_next" = "full_stop",
# "label.find_previous" = "comma"; each side: "label.left_down" = "j", "label.left_up" = "k",
# "label.left_diff" = "d", "label.left_open" = "o", "label.right_down" = "J", "label.right_up" = "K",
# "label.right_diff" = "D", "label.right_open" = "O"
"""
