"""core/ and storage/ are headless: importing them must not pull in Textual or torch."""

import pkgutil
import subprocess
import sys

import pytest

import core
import storage


def headless_modules() -> list[str]:
    names = []
    for package in (core, storage):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module", headless_modules())
def test_headless_module_imports_neither_textual_nor_torch(module):
    code = f"import sys, {module}; print('textual' in sys.modules, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"], module


def test_cli_help_imports_neither_textual_nor_torch():
    code = (
        "import sys\nfrom tui.cli import build_parser\nbuild_parser().format_help()\n"
        "print('textual' in sys.modules, 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
