"""The evaluation result document, typed: what `compare` builds, what an evaluation stores and
what `eval --json` prints (keys documented in the README).

A model dumps exactly the keys that were set, in declaration order, so the JSON is the contract
(`n_pairs` and `pass_rate_own_tests` appear only when known) and a result stored by an older
version prints back as it was stored. `as_json()` is the printing edge.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


class RolloutSummary(NamedTuple):
    """One rollout of an evaluation side, as the comparison reads it (storage.evals.summaries)."""

    id: str
    task_id: str
    seed: int | None
    flags: list[str]
    tests_passed: bool | None  # None: never known, which is not a pass
    n_steps: int
    diff_lines: int
    score: float  # lower is better
    tests_passed_own: bool | None = None  # the tests as the agent left them; None: not recorded
    exit_status: str | None = None


class Document(BaseModel):
    """A part of the result document: dumps only the keys that were set (given or parsed)."""

    model_config = ConfigDict(extra="allow")  # a key a newer version wrote survives a re-print

    @model_serializer(mode="wrap")
    def _set_keys_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        keep = self.model_fields_set | set(self.__pydantic_extra__ or {})
        return {key: value for key, value in data.items() if key in keep}

    def as_json(self) -> dict[str, Any]:
        """The document as JSON-ready data: the printing edge (`eval --json`, the stored row)."""
        return self.model_dump(mode="json")


class SideCounts(Document):
    before: int
    after: int


class SidePolicies(Document):
    before: str
    after: str


class RateChange(Document):
    """One rate before and after: a mode's share of flagged rollouts, any flag, or a pass rate.

    `discordant` is [b, c]: pairs hit only before, and only after. Pass rates have no counts;
    results stored before Holm adjustment have no `p_value_adjusted` (nor `method`).
    """

    before: float
    after: float
    diff: float
    ci_before: tuple[float, float]
    ci_after: tuple[float, float]
    ci_diff: tuple[float, float]
    p_value: float
    count_before: int | None = None
    count_after: int | None = None
    discordant: tuple[int, int]
    p_value_adjusted: float | None = None
    significant: bool
    verdict: str  # "better", "worse" or "unchanged"
    method: str | None = None


class MeanChange(Document):
    """None, not 0, for an empty side: a zero mean would read as a real (and flattering) result."""

    before: float | None
    after: float | None
    diff: float | None


class Means(Document):
    steps: MeanChange
    diff_lines: MeanChange
    score: MeanChange


class Comparison(Document):
    """`compare`'s result: every mode's rate change, any flag, the pass rates, means, warnings."""

    n: SideCounts
    n_pairs: int | None = None
    modes: dict[str, RateChange]
    overall: RateChange
    pass_rate: RateChange
    pass_rate_own_tests: RateChange | None = None
    means: Means
    warnings: list[str]


class _EvalHeader(Document):
    eval_id: str
    run_id: str | None = None
    tasks: list[str] = Field(default_factory=list)
    n_per_task: int | None = None
    seed: int | None = None
    policies: SidePolicies = Field(default_factory=lambda: SidePolicies(before="", after=""))
    reused_before_from: str | None = None
    policy_errors: SideCounts = Field(default_factory=lambda: SideCounts(before=0, after=0))


class EvalResult(Comparison, _EvalHeader):
    """An evaluation's result (storage.evals.comparison): its header, then the comparison."""


class _PairHeader(Document):
    eval_ids: tuple[str, str]


class EvalPairComparison(Comparison, _PairHeader):
    """Two evaluations' tuned sides against each other (storage.evals.compare_evals)."""
