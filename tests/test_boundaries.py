"""core/ and storage/ are headless: importing them must not pull in Textual, nor torch outside training.
And no module of core, storage or tui imports another that imports it back.

The training modules exist to run torch; everything else (the data steps, the CLI's help)
must start without it.
"""

import pkgutil
import subprocess
import sys
from collections import deque

import grimp
import pytest

import core
import storage


def headless_modules() -> list[str]:
    names = []
    for package in (core, storage):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    return names


TORCH_MODULES = ("core.train.masking",)  # a TrainerCallback/collator subclass needs torch at import


@pytest.mark.parametrize("module", headless_modules())
def test_headless_module_imports_neither_textual_nor_torch(module):
    code = f"import sys, {module}; print('textual' in sys.modules, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected_torch = "True" if module in TORCH_MODULES else "False"
    assert result.stdout.split() == ["False", expected_torch], module


def test_cli_help_imports_neither_textual_nor_torch_nor_the_schema_nor_the_database_layer():
    heavy = ("textual", "torch", "pydantic", "sqlite_utils", "core.schema", "storage.store")
    code = (
        "import sys\nfrom tui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(*[name in sys.modules for name in {heavy!r}])"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split()[-len(heavy) :] == ["False"] * len(heavy), result.stdout


def import_circle(imports: dict[str, set[str]]) -> list[str] | None:
    """A shortest circle of imports (`[a, b, ..., a]`: each imports the next), or None.

    Every import counts, a lazy one inside a function too: it is a circle the moment it runs.
    """
    best: list[str] | None = None
    for start in sorted(imports):
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            module = queue.popleft()
            for imported in sorted(imports.get(module, ())):
                if imported == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    circle = [start, *reversed(path[:-1]), start]
                    if best is None or len(circle) < len(best):
                        best = circle
                    queue.clear()
                    break
                if imported not in came_from:
                    came_from[imported] = module
                    queue.append(imported)
    return best


def test_no_module_imports_another_that_imports_it_back():
    """Stricter than the import-linter contract, which compares siblings: a package's __init__
    and the modules under it count too (a factory in __init__ whose modules import its types)."""
    graph = grimp.build_graph("core", "storage", "tui", cache_dir=None)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    circle = import_circle(imports)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_a_circle_is_found_and_told_in_order():
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert import_circle(imports) == ["e", "e"]
    del imports["e"]
    assert import_circle(imports) == ["a", "b", "c", "a"]
    imports["c"] = {"d"}
    assert import_circle(imports) is None
