"""The README's tables are a contract; they must not drift from the code."""

import re
from pathlib import Path

from core.checks import REGISTRY
from core.config import ChecksConfig

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_checks_table_lists_every_check_with_its_default_weight():
    section = README.split("\n## Checks\n", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z]+\.[a-z_]+)` \| ([\d.]+) \|", section, re.M))
    assert set(rows) == set(REGISTRY)
    cfg = ChecksConfig()
    assert {k: float(v) for k, v in rows.items()} == {k: cfg.weight(k) for k in REGISTRY}


def test_readme_shows_the_two_setup_commands():
    assert "make demo" in README and "make test" in README


def test_the_configuration_table_lists_every_setting():
    from pydantic import BaseModel

    from core.config import Config

    first_cells = re.findall(r"^\| (`[^|]*`) \|", README, re.M)
    listed = {key for cell in first_cells for key in re.findall(r"`([a-z_]+\.[a-z_]+)`", cell)}
    missing = []
    for name, field in Config.model_fields.items():
        section = field.alias or name
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        missing += [f"{section}.{key}" for key in model.model_fields if f"{section}.{key}" not in listed]
    assert not missing, f"settings the README's configuration table does not list: {missing}"
