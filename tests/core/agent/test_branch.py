"""Branches: the parent's prefix replayed and kept byte for byte, one other action, then on."""

from __future__ import annotations

import json
import random

import pytest

from core.agent.branch import BranchPoint, NotBranchable, ReplayMismatch, branch, call_key, plan, replay
from core.agent.env import TaskEnv
from core.agent.policies.base import Turn
from core.agent.policies.scored import distinguishing_means
from core.agent.runner import Job, run_rollout
from core.config import PolicyConfig, RolloutConfig
from core.export import preference_row
from core.prefix import divergence
from core.schema import Step, ToolCall
from core.tasks import commit_all

READ = ToolCall(name="read_file", arguments={"path": "calc/stats.py"})
TEST = ToolCall(name="run_tests", arguments={})
FIX = ToolCall(
    name="edit", arguments={"path": "calc/stats.py", "old": "(len(values) - 1)", "new": "len(values)"}
)
FINISH = ToolCall(name="finish", arguments={"message": "Done."})


class Scripted:
    """Plays fixed calls in order; asked again at the same step, draws from `others`."""

    label = "scripted"
    cfg = PolicyConfig()

    def __init__(self, calls: list[ToolCall], others: list[ToolCall] | None = None) -> None:
        self.calls, self.others = calls, others or []

    def act(self, env: TaskEnv, steps: list[Step], rng: random.Random, temperature: float) -> Turn:
        if len(steps) < len(self.calls) and not self.others:
            return Turn(thought="", tool_call=self.calls[len(steps)])
        pool = self.others or [FINISH]
        return Turn(thought="", tool_call=rng.choice(pool))


@pytest.fixture
def parent(task_repo):
    """A rollout that reads, tests, then finishes over the failure (flag at step 3)."""
    task, repo = task_repo
    rollout = run_rollout(Job(task, repo, 7), Scripted([READ, TEST, FINISH]), RolloutConfig())
    assert rollout is not None and [s.tool_call.name for s in rollout.steps] == [
        "read_file",
        "run_tests",
        "finish",
    ]
    rollout.id = "parent-1"
    return rollout


def test_replaying_a_prefix_reproduces_what_the_rollout_saw(task_repo, parent):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        replay(env, parent.steps[:2])  # raises on the first difference
        seen = env.call(TEST)
    assert seen.exit_code == parent.steps[1].observation.exit_code != 0


def test_a_changed_repository_refuses_the_replay(task_repo, parent):
    task, repo = task_repo
    (repo / "calc" / "stats.py").write_text("def mean(values):\n    return 0\n")
    commit_all(repo, "changed under the rollout")
    with TaskEnv(task, repo) as env, pytest.raises(ReplayMismatch, match="step 1 \\(read_file\\)"):
        replay(env, parent.steps[:2])


def test_a_branch_keeps_the_parents_prefix_byte_for_byte_and_differs_at_its_step(task_repo, parent):
    task, repo = task_repo
    policy = Scripted([], others=[FIX, TEST, FINISH, READ])
    branches = branch(parent, task, repo, 2, policy, RolloutConfig(step_limit=6), n=2, temperature=1.0)
    assert len(branches) == 2
    finish_key = json.dumps(FINISH.arguments)
    for child in branches:
        assert (child.parent_id, child.branch_step) == ("parent-1", 2)
        assert [s.model_dump_json() for s in child.steps[:2]] == [
            s.model_dump_json() for s in parent.steps[:2]
        ]
        assert not (
            child.steps[2].tool_call.name == "finish"
            and json.dumps(child.steps[2].tool_call.arguments) == finish_key
        )
        assert divergence(child, parent) == 2
        row = preference_row(child, parent)
        assert json.dumps(row["prompt"]) == json.dumps(preference_row(parent, child)["prompt"])
        assert len(row["prompt"]) == 1 + 2 * 2  # the instruction, then two calls and their results
    assert branches[0].steps[2].tool_call != branches[1].steps[2].tool_call


def test_no_runnable_task_or_no_such_step_is_refused(task_repo, parent):
    task, repo = task_repo
    with pytest.raises(NotBranchable, match="imported rollouts cannot be replayed"):
        branch(parent, None, None, 1, Scripted([]), RolloutConfig(), 1, 1.0)
    with pytest.raises(NotBranchable, match="step 9 does not exist"):
        branch(parent, task, repo, 8, Scripted([]), RolloutConfig(), 1, 1.0)


def test_scored_alternatives_are_distinct_and_never_the_excluded_action(task_repo, tiny_model_dir):
    from core.agent.branch import call_key
    from core.agent.model import load_model
    from core.agent.policies.scored import ScoredPolicy

    task, repo = task_repo
    policy = ScoredPolicy(load_model(tiny_model_dir, None, "cpu"), PolicyConfig())
    with TaskEnv(task, repo) as env:
        turns = policy.alternatives(env, [], random.Random(0), 1.0, 3, {call_key(TEST)})
    keys = [call_key(t.tool_call) for t in turns]
    assert len(keys) == 3 and len(set(keys)) == 3 and call_key(TEST) not in keys


def test_a_shift_every_action_shares_prefers_no_length():
    short, long = [1, 2, 5, 9], [1, 2, 6, 7, 8, 9]
    logps = [[-1.0, -1.0, -2.0, -0.5], [-1.0, -1.0, -2.0, -2.0, -2.0, -0.3]]
    before = distinguishing_means([short, long], logps)
    assert before == [-2.0, -2.0]
    # The wrapper tokens (shared prefix and suffix) move, as DPO moves them for every action.
    shifted = [
        [v - 0.7 if i in (0, 1) or i == len(row) - 1 else v for i, v in enumerate(row)] for row in logps
    ]
    assert distinguishing_means([short, long], shifted) == before
    # A per-token shift on everything moves every action by the same amount.
    uniform = [[v - 0.1 for v in row] for row in logps]
    after = distinguishing_means([short, long], uniform)
    assert after[0] - before[0] == pytest.approx(after[1] - before[1])


def test_planning_spreads_branches_over_lessons_and_states():
    points = [
        BranchPoint("r1", "t", 2, "tests.never_run", "a b"),
        BranchPoint("r2", "t", 2, "tests.never_run", "a b"),  # the same state as r1's: one point
        BranchPoint("r3", "t", 3, "tests.never_run", "a c d"),
        BranchPoint("r4", "t", 1, "path.hallucinated", "a"),
        BranchPoint("r5", "u", 0, "loop.repeat", ""),
    ]
    chosen = plan(points, per_task=2)
    assert {(p.task_id, p.rollout_id) for p in chosen} == {("t", "r4"), ("t", "r1"), ("u", "r5")}


def test_a_branch_at_a_flag_tries_its_remedy_first(task_repo, tiny_model_dir):
    from core.agent.model import load_model
    from core.agent.policies.scored import ScoredPolicy
    from core.remedies import remedy

    task, repo = task_repo
    policy = ScoredPolicy(load_model(tiny_model_dir, None, "cpu"), PolicyConfig())
    edit = ToolCall(name="edit", arguments={"path": "calc/stats.py", "old": "a", "new": "b"})
    with TaskEnv(task, repo) as env:
        answer = remedy("tests.never_run", edit, task, env.files())
        for seed in range(5):
            turns = policy.alternatives(env, [], random.Random(seed), 1.0, 2, {call_key(edit)}, answer)
            assert turns[0].tool_call.name == "run_tests"
            assert turns[1].tool_call.name != "run_tests"


def test_a_failing_rollout_is_due_its_fix_once_it_has_read_the_code_and_seen_the_failure():
    from core.agent.branch import fix_due
    from core.remedies import FIX_ATTEMPT, remedy
    from core.schema import Task, ToolCall
    from tests.core.checks.builders import PYTEST_FAIL, make_rollout

    task = Task(id="t1", instruction="fix it", allowed_globs=["src/**"])
    read_code = ("read_file", {"path": "src/calc.py"}, "def add(a, b): return a - b", 0)
    read_test = ("read_file", {"path": "src/test_calc.py"}, "def test_add(): ...", 0)
    fail = ("run_tests", {}, PYTEST_FAIL, 1)
    search = ("search", {"query": "add"}, "src/calc.py:1", 0)
    edit = ("edit", {"path": "src/calc.py", "old": "a - b", "new": "a + b"}, "ok", 0)
    failing = {"tests_passed": False}
    assert fix_due(make_rollout([read_test, fail, read_code, search, search], **failing), task) == 3
    assert fix_due(make_rollout([fail, read_code, edit, search], **failing), task) is None  # it edited
    assert (
        fix_due(make_rollout([read_test, fail, search, search], **failing), task) is None
    )  # a test file only
    assert fix_due(make_rollout([read_code, fail, search], tests_passed=True), task) is None
    assert fix_due(make_rollout([read_code, fail, search], tests_passed=None), task) is None
    answer = remedy(FIX_ATTEMPT, ToolCall(name="search", arguments={"query": "add"}), task)
    assert answer is not None and answer(ToolCall(name="edit", arguments=edit[1]))
    assert not answer(ToolCall(name="edit", arguments={**edit[1], "path": "src/test_calc.py"}))
    assert not answer(ToolCall(name="read_file", arguments={"path": "src/calc.py"}))


def test_deferred_both_branches_do_what_the_edit_lacked_then_one_makes_it(task_repo):
    """An edit made unread and untested: both branches read the file and run the tests; then one
    goes its own way and the other makes that edit ("not yet", and "now")."""
    task, repo = task_repo
    parent = run_rollout(Job(task, repo, 3), Scripted([FIX, FINISH]), RolloutConfig())
    assert parent is not None
    parent.id = "edits-first"
    policy = Scripted([], others=[FINISH])
    cfg = RolloutConfig(step_limit=5)

    deferred = branch(parent, task, repo, 0, policy, cfg, 2, 1.0, lesson="tests.never_run", defer=True)
    calls = [[s.tool_call for s in b.steps] for b in deferred]
    assert calls == [[READ, TEST, FINISH], [READ, TEST, FIX, FINISH]]
    assert deferred[1].steps[2].observation.error is False  # the edit still applies after them
    assert deferred[1].tests_passed and not deferred[0].tests_passed
    assert {(b.parent_id, b.branch_step) for b in deferred} == {("edits-first", 0)}

    plain = branch(parent, task, repo, 0, policy, cfg, 2, 1.0, lesson="tests.never_run")
    assert [b.steps[0].tool_call for b in plain] != [READ, READ]  # without `defer`: the policy's

    # Not for a lesson of content: that edit is wrong at any time.
    sprawl = branch(parent, task, repo, 0, policy, cfg, 2, 1.0, lesson="diff.too_large", defer=True)
    assert all(FIX not in [s.tool_call for s in b.steps] for b in sprawl)


def test_prerequisites_are_what_the_prefix_did_not_do():
    from core.agent.branch import prerequisites

    def steps(*calls):
        return [Step(index=i, tool_call=c) for i, c in enumerate(calls)]

    assert prerequisites(steps(), FIX) == [READ, TEST]
    assert prerequisites(steps(READ), FIX) == [TEST]
    assert prerequisites(steps(TEST), FIX) == [READ]
    assert prerequisites(steps(TEST, READ), FIX) == []


def test_only_a_not_yet_lesson_on_an_edit_of_the_code_is_deferrable():
    from core.remedies import deferrable
    from core.schema import Task

    task = Task(id="t", instruction="", allowed_globs=["calc/**"])
    test_edit = ToolCall(name="edit", arguments={"path": "tests/test_stats.py", "old": "a", "new": "b"})
    outside = ToolCall(name="edit", arguments={"path": "setup.py", "old": "a", "new": "b"})
    for lesson in ("edit.unread", "evidence.uncited", "tests.never_run"):
        assert deferrable(lesson, FIX, task)
        assert not deferrable(lesson, test_edit, task) and not deferrable(lesson, outside, task)
        assert not deferrable(lesson, READ, task)
    for lesson in ("diff.too_large", "tests.weakened", "stuck.no_stop", "tests.not_rerun"):
        assert not deferrable(lesson, FIX, task)


def test_a_deferred_branch_makes_the_tasks_known_fix_where_the_parents_edit_was_wrong(task_repo):
    from core.agent.branch import known_fix

    task, repo = task_repo
    wrong = ToolCall(name="edit", arguments={"path": "calc/stats.py", "old": "def ", "new": "def  "})
    parent = run_rollout(Job(task, repo, 3), Scripted([wrong, FINISH]), RolloutConfig())
    fixed = run_rollout(Job(task, repo, 4), Scripted([READ, FIX, TEST, FINISH]), RolloutConfig())
    assert parent is not None and fixed is not None and fixed.tests_passed and not parent.tests_passed
    assert known_fix([fixed, parent], task, repo, budget=4) == FIX
    assert known_fix([parent], task, repo, budget=4) is None  # a failing rollout's edits do not count

    policy = Scripted([], others=[FINISH])
    cfg = RolloutConfig(step_limit=5)
    deferred = branch(parent, task, repo, 0, policy, cfg, 2, 1.0, lesson="edit.unread", defer=True, fix=FIX)
    assert [[s.tool_call for s in b.steps] for b in deferred] == [
        [READ, TEST, FINISH],
        [READ, TEST, FIX, FINISH],
    ]
    assert [b.tests_passed for b in deferred] == [False, True]


def test_a_known_fix_is_the_smallest_edit_of_the_code_that_passes_alone_within_the_budget(task_repo):
    """A passing rollout's edits include wrong ones, a loosened test and a rewrite: each is run
    alone on a fresh checkout, and only a small edit of the code that passes is a known fix."""
    from core.agent.branch import known_fix

    task, repo = task_repo
    harmless = ToolCall(name="edit", arguments={"path": "calc/stats.py", "old": "def ", "new": "def  "})
    rewrite = ToolCall(
        name="edit",
        arguments={
            "path": "calc/stats.py",
            "old": "def mean(values):\n",
            "new": "def mean(values):\n    total = 0\n    for value in values:\n        total += value\n"
            "    count = len(values)\n    return total / count\n",
        },
    )
    loosen = ToolCall(
        name="edit", arguments={"path": "tests/test_stats.py", "old": "== 2", "new": "is not None"}
    )
    small = run_rollout(Job(task, repo, 5), Scripted([harmless, FIX, loosen, FINISH]), RolloutConfig())
    large = run_rollout(Job(task, repo, 6), Scripted([rewrite, loosen, FINISH]), RolloutConfig())
    assert small is not None and large is not None and small.tests_passed and large.tests_passed
    assert [s.observation.error for s in small.steps[:3]] == [False, False, False]

    assert known_fix([large, small], task, repo, budget=4) == FIX  # not the last edit: the fix
    assert known_fix([large], task, repo, budget=4) is None  # it passes, but over the budget
    assert known_fix([large], task, repo, budget=10) == rewrite


def test_a_passing_rollouts_fix_is_its_last_edit_of_the_code_not_a_later_edit_of_a_test(task_repo):
    from core.agent.branch import fixing_edit

    task, repo = task_repo
    loosen = ToolCall(name="edit", arguments={"path": "tests/test_stats.py", "old": "== 2", "new": "> 0"})
    rollout = run_rollout(Job(task, repo, 8), Scripted([READ, FIX, loosen, FINISH]), RolloutConfig())
    assert rollout is not None and rollout.tests_passed
    assert fixing_edit(rollout, task) == 1
    assert fixing_edit(rollout) == 2  # no task: which files are code is not known


def test_where_the_remedy_is_an_edit_the_branch_makes_the_known_fix_its_files_read_first(task_repo):
    """At a fix that was due, or a sprawling patch: the first branch makes the edit known to
    work, not the policy's first edit (mostly a wrong patch, whose failing branch would teach
    against the lesson); where the fix does not answer the lesson, the policy's own."""
    from core.remedies import FIX_ATTEMPT

    task, repo = task_repo
    sprawl = ToolCall(
        name="edit",
        arguments={"path": "calc/stats.py", "old": "(len(values) - 1)", "new": "len(values)  " + "#" * 200},
    )
    policy = Scripted([], others=[FINISH, TEST])
    cfg = RolloutConfig(step_limit=6)
    due = run_rollout(Job(task, repo, 5), Scripted([TEST, READ, FINISH]), RolloutConfig())
    sprawling = run_rollout(Job(task, repo, 6), Scripted([sprawl, FINISH]), RolloutConfig())
    assert due is not None and sprawling is not None

    at_due = branch(due, task, repo, 2, policy, cfg, 2, 1.0, lesson=FIX_ATTEMPT, fix=FIX)
    assert [s.tool_call for s in at_due[0].steps] == [TEST, READ, FIX, FINISH] and at_due[0].tests_passed
    assert at_due[1].steps[2].tool_call == TEST  # the policy's own alternative beside it

    at_sprawl = branch(sprawling, task, repo, 0, policy, cfg, 2, 1.0, lesson="diff.too_large", fix=FIX)
    assert [s.tool_call for s in at_sprawl[0].steps][:3] == [READ, TEST, FIX]
    # Its second branch reads and tests too, then goes its own way: the two part at the fix.
    assert [s.tool_call for s in at_sprawl[1].steps][:2] == [READ, TEST]
    assert at_sprawl[1].steps[2].tool_call != FIX

    # A lesson whose remedy is not an edit keeps the policy's alternatives.
    at_read = branch(sprawling, task, repo, 0, policy, cfg, 2, 1.0, lesson="edit.unread", fix=FIX)
    assert all(FIX not in [s.tool_call for s in b.steps] for b in at_read)
