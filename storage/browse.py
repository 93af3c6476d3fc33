"""Queries behind the rollout list: filter, sort, count and pages by offset, so a list of
100,000 rollouts loads only the rows on screen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.checks import REGISTRY
from core.checks.badges import checks_named
from storage.store import Store

SORTABLE = {
    "task": "task_id",
    "policy": "policy",
    "steps": "n_steps",
    "score": "score",
    "flags": "flags",
    "outcome": "tests_passed",
    "source": "source_path",
}
COLUMNS = ", ".join(
    [
        "id",
        "task_id",
        "policy",
        "n_steps",
        "score",
        "flags",
        "tests_passed",
        "tests_passed_own",
        "exit_status",
        "source_path",
        "source_format",
        "eval_id",
    ]
)


@dataclass(frozen=True)
class Filter:
    """`task:stats flag:loop outcome:fail policy:scored` plus free words (task or policy contains)."""

    text: str = ""
    clauses: tuple[tuple[str, str], ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        parsed = []
        for word in self.text.split():
            key, sep, value = word.partition(":")
            parsed.append((key.lower(), value) if sep else ("any", word))
        object.__setattr__(self, "clauses", tuple(parsed))

    def unknown_flags(self) -> list[str]:
        """The `flag:` values that name no check (see `checks_named`)."""
        return [v for k, v in self.clauses if k == "flag" and v and not checks_named(v, REGISTRY)]

    def where(self) -> tuple[str, list[Any]]:
        sql, params = [], []
        for key, value in self.clauses:
            if key == "task":
                sql.append("task_id LIKE ?")
                params.append(f"%{value}%")
            elif key == "policy":
                sql.append("policy LIKE ?")
                params.append(f"%{value}%")
            elif key == "flag" and not value:
                continue  # still being typed
            elif key == "flag":  # a badge, a check id, a badge's start or part of a check id
                checks = checks_named(value, REGISTRY) or [""]  # naming none matches none
                sql.append(
                    f"id IN (SELECT rollout_id FROM flags WHERE check_id IN ({', '.join('?' * len(checks))}))"
                )
                params.extend(checks)
            elif key == "outcome":
                sql.append(
                    {"pass": "tests_passed = 1", "fail": "tests_passed = 0"}.get(
                        value, "tests_passed IS NULL"
                    )
                )
            elif key == "eval":
                sql.append("eval_id LIKE ?")
                params.append(f"%{value}%")
            else:
                sql.append("(task_id LIKE ? OR policy LIKE ? OR flags LIKE ?)")
                params.extend([f"%{value}%"] * 3)
        return (" WHERE " + " AND ".join(sql)) if sql else "", params


def count(store: Store, flt: Filter) -> int:
    where, params = flt.where()
    return int(store.scalar(f"SELECT count(*) FROM rollouts{where}", params))


def page(
    store: Store, flt: Filter, sort: str, descending: bool, offset: int, limit: int
) -> list[dict[str, Any]]:
    where, params = flt.where()
    order = f"{SORTABLE.get(sort, 'task_id')} {'DESC' if descending else 'ASC'}, id"
    sql = f"SELECT {COLUMNS} FROM rollouts{where} ORDER BY {order} LIMIT ? OFFSET ?"
    return list(store.db.query(sql, [*params, limit, offset]))


def flag_counts(store: Store, flt: Filter) -> dict[str, int]:
    where, params = flt.where()
    sql = (
        f"SELECT check_id, count(*) FROM flags WHERE rollout_id IN (SELECT id FROM rollouts{where})"
        " GROUP BY check_id ORDER BY count(*) DESC"
    )
    return dict(store.db.execute(sql, params).fetchall())
