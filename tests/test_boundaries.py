"""core/ and storage/ are headless: importing them must not pull in Textual, nor torch outside training.

The training modules exist to run torch; everything else (the data steps, the CLI's help)
must start without it.
"""

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


TORCH_MODULES = ("core.train.masking",)  # a TrainerCallback/collator subclass needs torch at import


@pytest.mark.parametrize("module", headless_modules())
def test_headless_module_imports_neither_textual_nor_torch(module):
    code = f"import sys, {module}; print('textual' in sys.modules, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected_torch = "True" if module in TORCH_MODULES else "False"
    assert result.stdout.split() == ["False", expected_torch], module


def test_cli_help_imports_neither_textual_nor_torch():
    code = (
        "import sys\nfrom tui.cli import build_parser\nbuild_parser().format_help()\n"
        "print('textual' in sys.modules, 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
