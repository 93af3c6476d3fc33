"""Pydantic models for everything the loop produces.

Rollouts from every harness are normalised into these models on import, so checks,
mining, export and the TUI never see a harness-specific shape.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from core.evaluate.result import EvalResult

# SQLite stores 64-bit integers: a count or seed beyond them is refused where it is read, with
# its field named, not at insert time where it would abort a whole import.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]


class ActionKind(StrEnum):
    """Canonical kinds every tool call is mapped to (see core.actions)."""

    LIST = "list"
    READ = "read"
    SEARCH = "search"
    EDIT = "edit"
    TEST = "test"
    FINISH = "finish"
    OTHER = "other"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CandidateKind(StrEnum):
    """What a candidate patch teaches: the scored policy offers all of them as actions."""

    RIGHT = "right"  # fixes the bug
    WRONG = "wrong"  # plausible, does not fix it
    WEAKEN_TEST = "weaken_test"  # makes the test pass by changing the test
    SPRAWL = "sprawl"  # fixes it inside a large rewrite (over the diff budget)
    UNRELATED = "unrelated"  # edits a file outside the allowed globs


class Candidate(Model):
    """One exact search/replace edit, in the arguments of the `edit` tool."""

    name: str
    kind: CandidateKind
    path: str
    old: str
    new: str
    description: str = ""


class Task(Model):
    """What a rollout was asked to do and the limits the checks hold it to."""

    id: str
    instruction: str = ""
    test_command: str = ""
    allowed_globs: list[str] = Field(default_factory=list)  # empty: any file may be edited
    diff_budget: Int64 | None = None  # None: the config's default
    step_limit: Int64 | None = None
    split: str = "train"  # train | heldout
    repo_path: str | None = None
    test_timeout_s: float = 30.0
    candidates: list[Candidate] = Field(default_factory=list)
    reference_dir: str | None = None  # files that overwrite the repo's to make the reference fix

    def description(self) -> Task:
        """This task as a data file tells it: what was asked and the limits the checks use.

        Nothing a file says may be run or copied, so the repository, the reference fix and the
        candidate edits are dropped; only the workspace's own task commands set them.
        """
        return self.model_copy(update={"repo_path": None, "reference_dir": None, "candidates": []})


class ToolCall(Model):
    """One call as the agent made it. `arguments` is what parsed; `raw` keeps the source text."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None
    raw: str | None = None  # the unparsed arguments or action text, kept when parsing failed


class Action(Model):
    """The canonical form of a tool call: what checks and loop detection compare."""

    kind: ActionKind  # the primary kind: edit > test > finish > read > search > list > other
    kinds: list[ActionKind] = Field(default_factory=list)  # every kind in a compound command
    paths: list[str] = Field(default_factory=list)
    command: str = ""  # normalised text used for equality (no ids, no thoughts)
    creates: bool = False  # the call creates a new file, so no prior read is expected


class Observation(Model):
    content: str = ""
    exit_code: Int64 | None = None
    error: bool = False  # the tool reported an error (bad path, bad edit, crash, timeout)
    truncated_bytes: Int64 = 0  # bytes cut from the middle on import (over the size cap)


class Step(Model):
    """One assistant turn and what came back from the environment."""

    index: Int64
    thought: str = ""
    tool_call: ToolCall | None = None  # None: the turn had no parseable tool call
    malformed: str | None = None  # why the turn was not a valid tool call
    action: Action | None = None  # filled by core.actions.classify
    observation: Observation | None = None
    started_at: float | None = None
    duration_s: float | None = None
    tokens_in: Int64 | None = None
    tokens_out: Int64 | None = None


class Source(Model):
    """Where a rollout came from, precise enough to point a user at the record."""

    path: str = ""
    format: str = ""
    record: Int64 = 0  # 1-based line (JSONL) or record number inside the file


class Flag(Model):
    """One violation found by a check; `steps` are the indices it points at."""

    check: str
    weight: float
    message: str
    steps: list[int] = Field(default_factory=list)
    heuristic: bool = False
    anchor: Int64 | None = None  # the step the lesson lives at (see core.checks.registry.Finding)


class Rollout(Model):
    id: str = ""  # content hash, set on import
    task_id: str
    policy: str = ""
    seed: Int64 | None = None
    source: Source = Field(default_factory=Source)
    started_at: datetime | None = None
    duration_s: float | None = None
    tokens_in: Int64 | None = None
    tokens_out: Int64 | None = None
    steps: list[Step] = Field(default_factory=list)
    final_diff: str = ""
    tests_passed: bool | None = None  # the final outcome on the task's own tests; None: unknown
    tests_passed_own: bool | None = (
        None  # the final outcome in the agent's own worktree (tests as it left them)
    )
    exit_status: str = ""  # finished | step_limit | error | submitted | ... as the harness said
    task: Task | None = None  # an embedded task definition, when the source carried one
    eval_id: str | None = None
    parent_id: str | None = None  # a branch: the rollout whose prefix it replayed
    branch_step: Int64 | None = None  # a branch: the first step it took on its own
    flags: list[Flag] = Field(default_factory=list)
    score: float = 0.0  # weighted sum of flags: lower is better

    @property
    def flag_ids(self) -> list[str]:
        return [f.check for f in self.flags]


class Decision(StrEnum):
    PREFER = "prefer"  # chosen_id names the better side
    BOTH_GOOD = "both_good"
    BOTH_BAD = "both_bad"
    SKIP = "skip"


class PreferenceSource(StrEnum):
    HUMAN = "human"
    AUTO = "auto"


class PairKind(StrEnum):
    """How well a pair places its lesson (mining ranks them in this order)."""

    BRANCH = "branch"  # a rollout and its branch: the same prefix replayed, one action differs
    ANCHORED = "anchored"  # siblings sharing a prefix up to the step a flag points at
    ROLLOUT = "rollout"  # whole rollouts compared by score; the lesson's step is unknown


class Pair(Model):
    """A mined proposal: the checks prefer `chosen_id` over `rejected_id`."""

    id: int | None = None
    task_id: str
    chosen_id: str
    rejected_id: str
    score_gap: float
    reason: str
    differing_flags: list[str] = Field(default_factory=list)
    kind: PairKind = PairKind.ROLLOUT
    step: int | None = None  # the step the lesson lives at: both sides share every step before it


class Preference(Model):
    id: int | None = None
    pair_id: int
    decision: Decision
    chosen_id: str | None = None  # set only when decision is PREFER
    source: PreferenceSource = PreferenceSource.HUMAN
    labeler: str = ""
    tags: list[str] = Field(default_factory=list)
    note: str = ""
    left_id: str | None = None  # which rollout the labeller saw on the left
    blind: bool = False  # decided with the scores, the checks' reason and badges hidden
    created_at: datetime | None = None
    # Who decided (a human decision; "" for automatic ones and those made before names were kept).
    # One decision per annotator and pair; several annotators' decisions on a pair coexist.
    annotator: str = ""
    adjudicated: bool = False  # settles a pair the annotators disagreed on (kept beside their votes)


class Job(BaseModel):
    """What a training run and an evaluation share as background jobs (a row of `runs` or
    `evals`): status, the process that runs it, its heartbeat, progress and error.

    Stamps stay the ISO text they are stored as. `shown_status` is not stored: it is the status
    to show, computed when the row is read (`lost` for a job whose process stopped beating).
    Metrics may be NaN (a diverged loss), and a column a later version adds is ignored.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    status: str = "queued"
    pid: int | None = None
    pid_start: str | None = None  # the process's start time: a pid the system reused does not count
    heartbeat: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    stage: str = ""
    log_path: str | None = None
    error: str | None = None
    shown_status: str = ""


class RunConfig(BaseModel):
    """The settings a run trained with, recorded so it can be resumed exactly (`--resume`)."""

    model_config = ConfigDict(extra="ignore")

    train: dict[str, JsonValue] = Field(default_factory=dict)  # core.config.TrainConfig, dumped
    base_model: str = ""  # as the workspace stores paths (relative to its root where inside)


class TrainRun(Job):
    """A DPO run (a row of `runs`)."""

    config: RunConfig = Field(default_factory=RunConfig)
    adapter_path: str | None = None
    final_metrics: dict[str, int | float] = Field(default_factory=dict)  # as logged: 1 stays 1
    dataset: dict[str, int | str] = Field(default_factory=dict)  # storage.training.Plan.counts
    options: dict[str, JsonValue] = Field(default_factory=dict)  # core.train.run.speed_options
    step: int = 0
    max_steps: int = 0


class EvalConfig(BaseModel):
    """What an evaluation rolled out: tasks, rollouts per task, seeds, the two sides' policies.

    A base side reused from an earlier evaluation names it in `before_from`.
    """

    model_config = ConfigDict(extra="ignore")

    tasks: list[str] = Field(default_factory=list)
    n: int | None = None
    seed: int | None = None
    base_model: str = ""
    adapter: str | None = None
    before_policy: str = ""
    after_policy: str = ""
    base_key: str | None = None
    before_from: str | None = None

    def side_policy(self, side: str) -> str:
        return self.before_policy if side == "before" else self.after_policy


class EvalRun(Job):
    """An evaluation of a run's adapter against its base model (a row of `evals`).

    `result` is the `eval --json` document (storage.evals.comparison), stored as the JSON it is
    printed as; None until the evaluation finishes, and in `list_evals`' light rows.
    """

    run_id: str | None = None
    config: EvalConfig = Field(default_factory=EvalConfig)
    result: EvalResult | None = None
    done: int = 0
    total: int = 0

    @field_validator("result", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """The column holds `{}` (or nothing) until there is a result."""
        return None if value == {} else value
