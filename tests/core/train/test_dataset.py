from transformers import AutoTokenizer

from core.train.dataset import length_report, split_by_task

from .conftest import trajectory_row


def rows(tasks, per_task=3):
    return [{"task_id": f"t{t}", "pair_id": t * 10 + k} for t in range(tasks) for k in range(per_task)]


def test_split_holds_out_whole_tasks():
    split = split_by_task(rows(10), 0.2, seed=0)
    assert len(split.validation_tasks) == 2 and len(split.train_tasks) == 8
    assert not {r["task_id"] for r in split.train} & {r["task_id"] for r in split.validation}
    assert len(split.train) + len(split.validation) == 30
    assert split_by_task(rows(10), 0.2, seed=0).validation_tasks == split.validation_tasks  # reproducible


def test_split_keeps_a_task_on_each_side_when_it_can():
    assert len(split_by_task(rows(2), 0.01).validation_tasks) == 1
    assert split_by_task(rows(1), 0.5).validation == []
    assert split_by_task(rows(5), 0.0).validation == []
    assert len(split_by_task(rows(3), 0.99).train_tasks) == 1


def test_counts_say_where_the_pairs_come_from():
    data = [
        {"task_id": "a", "source": "human"},
        {"task_id": "b", "source": "auto"},
        {"task_id": "c", "source": "auto"},
    ]
    counts = split_by_task(data, 0.0).counts()
    assert counts == {
        "train_pairs": 3,
        "validation_pairs": 0,
        "train_tasks": 3,
        "validation_tasks": 0,
        "human": 1,
        "auto": 2,
    }


def test_over_long_rows_are_reported_by_pair(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    short, long = trajectory_row(pair_id=1), trajectory_row("x " * 400, pair_id=2)
    report = length_report(tokenizer, [short, long], max_length=200)
    assert report.truncated == [2] and report.prompt_too_long == []
    assert "pairs 2" in report.lines("keep_start")[0]
    tight = length_report(tokenizer, [short], max_length=5)
    assert tight.prompt_too_long == [1]
    assert "dropped by TRL" in tight.lines("keep_start")[0]
