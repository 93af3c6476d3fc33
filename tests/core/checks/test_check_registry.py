"""The registry and runner: ids, weights, disabled checks, custom checks and the score."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from core.checks import REGISTRY, CheckError, Finding, check, load_custom, run_checks, score
from core.checks.badges import BADGES, check_of_badge
from core.config import DEFAULT_WEIGHTS, ChecksConfig
from core.schema import ActionKind, Flag, Rollout, Task
from tests.core.checks.builders import PYTEST_PASS, flags_for, make_rollout

BUILT_IN = {
    "protocol.malformed",
    "tests.never_run",
    "tests.not_rerun",
    "tests.ignored_failure",
    "tests.weakened",
    "files.outside_allowed",
    "diff.too_large",
    "loop.repeat",
    "path.hallucinated",
    "edit.unread",
    "stuck.no_stop",
    "evidence.uncited",
}


def test_every_built_in_check_is_registered_with_a_weight_and_explanation() -> None:
    assert set(REGISTRY) >= BUILT_IN
    assert set(DEFAULT_WEIGHTS) == BUILT_IN
    assert all(REGISTRY[i].explanation and "\n" not in REGISTRY[i].explanation for i in BUILT_IN)
    assert [i for i in BUILT_IN if REGISTRY[i].heuristic] == ["evidence.uncited"]


def test_every_built_in_check_has_its_own_short_badge() -> None:
    assert set(BADGES) == BUILT_IN
    assert len(set(BADGES.values())) == len(BADGES)
    assert all(b.isupper() and len(b) <= 8 for b in BADGES.values())
    assert all(check_of_badge(b.lower()) == check for check, b in BADGES.items())


def test_run_checks_classifies_steps_first() -> None:
    rollout = make_rollout([("bash", "cat a.py", "x", 0)])
    assert rollout.steps[0].action is None
    run_checks(rollout, None, ChecksConfig())
    assert rollout.steps[0].action is not None and rollout.steps[0].action.kind == ActionKind.READ


def test_one_flag_per_check_with_config_weights() -> None:
    rollout = make_rollout([("bash", "cat a.py", "x", 0)] * 5)  # a loop, and no tests
    flags = run_checks(rollout, None, ChecksConfig(weights={"loop.repeat": 7.5}))
    ids = [f.check for f in flags]
    assert len(ids) == len(set(ids))
    by_id = {f.check: f for f in flags}
    assert by_id["loop.repeat"].weight == 7.5
    assert by_id["tests.never_run"].weight == DEFAULT_WEIGHTS["tests.never_run"]


def test_disabled_checks_are_skipped() -> None:
    rollout = make_rollout([("bash", "cat a.py", "x", 0)])
    assert "tests.never_run" in flags_for(rollout)
    assert "tests.never_run" not in flags_for(rollout, cfg=ChecksConfig(disabled=["tests.never_run"]))


def test_score_is_the_weighted_sum() -> None:
    flags = [Flag(check="a", weight=1.5, message="x"), Flag(check="b", weight=4.0, message="y")]
    assert score(flags) == 5.5
    assert score([]) == 0.0


def test_score_follows_config_overrides() -> None:
    rollout = make_rollout([("bash", "cat a.py", "x", 0)] * 5, exit_status="submitted")
    default = score(run_checks(rollout, None, ChecksConfig()))
    assert default == DEFAULT_WEIGHTS["tests.never_run"] + DEFAULT_WEIGHTS["loop.repeat"]
    heavier = score(run_checks(rollout, None, ChecksConfig(weights={"tests.never_run": 10.0})))
    assert heavier == 10.0 + DEFAULT_WEIGHTS["loop.repeat"]


def test_a_clean_rollout_has_no_flags() -> None:
    rollout = make_rollout(
        [
            ("bash", "python -m pytest", "FAILED tests/t.py::test_add - assert 1 == 2\n1 failed", 1),
            ("bash", "cat src/calc.py", "def add(a, b): return a - b", 0, "FAILED tests/t.py::test_add"),
            ("bash", "sed -i 's/a - b/a + b/' src/calc.py", "", 0),
            ("bash", "python -m pytest", PYTEST_PASS, 0),
            ("bash", "submit", "", 0),
        ],
        final_diff="--- a/src/calc.py\n+++ b/src/calc.py\n@@ -1 +1 @@\n-a - b\n+a + b\n",
        exit_status="submitted",
    )
    assert run_checks(rollout, Task(id="t1", allowed_globs=["src/*.py"]), ChecksConfig()) == []


def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.usefixtures("restore_registry")
def test_custom_check_decorated_with_check_is_loaded_from_a_module_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_module(
        tmp_path,
        monkeypatch,
        "agentpref_test_checks_a",
        """
        from core.checks import Finding, check

        @check("custom.no_rm_rf", "ran rm -rf")
        def no_rm_rf(rollout, task, cfg):
            bad = [s.index for s in rollout.steps if s.action and "rm -rf" in s.action.command]
            return Finding("ran rm -rf", bad) if bad else None
        """,
    )
    cfg = ChecksConfig(custom=["agentpref_test_checks_a:no_rm_rf"], weights={"custom.no_rm_rf": 9.0})
    load_custom(cfg)
    assert REGISTRY["custom.no_rm_rf"].explanation == "ran rm -rf"
    rollout = make_rollout([("bash", "cat a.py", "x", 0), ("bash", "rm -rf build", "", 0)])
    flag = flags_for(rollout, cfg=cfg)["custom.no_rm_rf"]
    assert (flag.weight, flag.steps, flag.message) == (9.0, [1], "ran rm -rf")


@pytest.mark.usefixtures("restore_registry")
def test_an_undecorated_custom_function_is_registered_under_custom_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_module(
        tmp_path,
        monkeypatch,
        "agentpref_test_checks_b",
        '''
        from core.checks import Finding

        def too_many_steps(rollout, task, cfg):
            """more than three steps"""
            return Finding("took more than three steps", []) if len(rollout.steps) > 3 else None
        ''',
    )
    load_custom(ChecksConfig(custom=["agentpref_test_checks_b:too_many_steps"]))
    spec = REGISTRY["custom.too_many_steps"]
    assert spec.explanation == "more than three steps" and not spec.heuristic
    flags = flags_for(make_rollout([("bash", "ls", "", 0)] * 4))
    assert flags["custom.too_many_steps"].weight == 1.0  # no default weight: 1.0
    load_custom(ChecksConfig(custom=["agentpref_test_checks_b:too_many_steps"]))  # loading twice is fine


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("no_colon_here", "expected 'module:function'"),
        ("agentpref_no_such_module_xyz:fn", "cannot import"),
        ("core.checks:no_such_function", "has no attribute"),
        ("core.checks:REGISTRY", "is not callable"),
        (":fn", "expected 'module:function'"),
    ],
)
def test_bad_custom_specs_raise_value_error_naming_them(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as info:
        load_custom(ChecksConfig(custom=[spec]))
    assert spec in str(info.value) or "REGISTRY" in str(info.value)


@pytest.mark.usefixtures("restore_registry")
def test_entry_points_are_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    def from_plugin(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
        return Finding("was checked by a plugin", [])

    class FakeEntryPoint:
        name, value = "plugin", "plugin_module:from_plugin"

        def load(self) -> object:
            return from_plugin

    monkeypatch.setattr("core.checks.registry.entry_points", lambda group: [FakeEntryPoint()])
    load_custom(ChecksConfig())
    assert REGISTRY["custom.from_plugin"].fn is from_plugin


def test_a_broken_entry_point_raises_value_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        name, value = "broken", "broken_module:fn"

        def load(self) -> object:
            raise ImportError("no module named broken_module")

    monkeypatch.setattr("core.checks.registry.entry_points", lambda group: [Broken()])
    with pytest.raises(ValueError, match="broken_module:fn"):
        load_custom(ChecksConfig())


@pytest.mark.usefixtures("restore_registry")
def test_a_second_function_under_a_taken_id_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):

        @check("tests.never_run", "an impostor")
        def impostor(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
            return None

    assert REGISTRY["tests.never_run"].explanation != "an impostor"


@pytest.mark.usefixtures("restore_registry")
def test_a_check_that_raises_is_named_in_the_error() -> None:
    @check("custom.explodes", "always raises")
    def explodes(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
        raise KeyError("boom")

    with pytest.raises(CheckError, match=r"custom\.explodes"):
        run_checks(make_rollout([("bash", "ls", "", 0)]), None, ChecksConfig())
