from core.prefix import divergence, same_step, step_key
from core.schema import Observation, Rollout, Step, ToolCall


def call(name: str, seen: str, index: int = 0, exit_code: int | None = 0, **arguments: str) -> Step:
    return Step(
        index=index,
        tool_call=ToolCall(name=name, arguments=arguments),
        observation=Observation(content=seen, exit_code=exit_code),
    )


def test_timings_in_test_output_do_not_make_steps_differ():
    a = call("run_tests", "1 failed, 2 passed in 0.31s")
    b = call("run_tests", "1 failed, 2 passed in 0.07s")
    assert same_step(a, b)


def test_a_different_result_or_call_does():
    assert not same_step(call("run_tests", "1 failed in 0.3s"), call("run_tests", "3 passed in 0.3s"))
    assert not same_step(call("read_file", "x", path="a.py"), call("read_file", "x", path="b.py"))
    assert not same_step(call("run_tests", "boom", exit_code=1), call("run_tests", "boom", exit_code=2))


def test_the_key_halves_separate_the_call_from_what_it_saw():
    a, b = step_key(call("run_tests", "pass")), step_key(call("run_tests", "fail"))
    assert a[:6] == b[:6] and a[6:] != b[6:]


def test_thoughts_are_not_part_of_the_state():
    a, b = call("finish", "Finished."), call("finish", "Finished.")
    b.thought = "I am done, really"
    assert same_step(a, b)


def test_divergence_is_the_length_of_the_shared_prefix():
    shared = [call("read_file", "x", i, path="a.py") for i in range(2)]
    a = Rollout(task_id="t", steps=[*shared, call("finish", "Finished.", 2)])
    b = Rollout(task_id="t", steps=[*shared, call("run_tests", "ok", 2)])
    assert divergence(a, b) == 2
    assert divergence(a, a) == 3


def test_divergence_stops_where_the_shared_prefix_of_every_fingerprint_ends():
    from core.prefix import divergence, shared_prefix, step_keys
    from core.schema import Observation, Rollout, Step, ToolCall

    def step(index, command, output="ok 0.31s"):
        call = ToolCall(name="bash", arguments={"command": command})
        return Step(index=index, tool_call=call, observation=Observation(content=output))

    def rollout(*steps):
        return Rollout(id="r", task_id="t", steps=list(steps))

    base = [step(0, "ls"), step(1, "cat a.py"), step(2, "pytest")]
    cases = [
        (base, base),  # the same throughout
        (base, [*base[:2], step(2, "pytest -x")]),  # part at the last step
        (base, [step(0, "pwd"), *base[1:]]),  # from the start
        (base, base[:1]),  # one ends where the other goes on
        (base, [step(0, "ls", "ok 9.99s"), *base[1:]]),  # timings differ only: the same step
        ([], base),
    ]
    for a, b in cases:
        assert divergence(rollout(*a), rollout(*b)) == shared_prefix(
            step_keys(rollout(*a)), step_keys(rollout(*b))
        )
