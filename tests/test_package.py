"""The library stands on its own: every lstm_viz module imports with only torch, numpy and plotly (the
dependencies `pip install .` gives), and the package's layout keeps its promises (docstrings, sizes)."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lstm_viz"
# What only the extras or the app bring: importing any lstm_viz module must not need them.
NOT_LIBRARY = ("streamlit", "h5py", "yaml", "kaleido", "pytest", "hypothesis", "playwright")


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_without_the_app_or_the_extras():
    block = "".join(f"sys.modules[{name!r}] = None\n" for name in NOT_LIBRARY)  # None: import raises ImportError
    imports = "".join(f"importlib.import_module({name!r})\n" for name in _modules())
    code = f"import importlib, sys\n{block}{imports}print('ok')"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def test_every_subpackage_says_what_lives_there():
    for init in sorted(PACKAGE.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 8, f"{init.relative_to(ROOT)} has no docstring saying what lives there"


def test_no_library_module_is_far_over_300_lines():
    sizes = {p.relative_to(ROOT): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    too_long = {str(p): n for p, n in sizes.items() if n > 330}  # "about 300": some slack, not a second module
    assert not too_long, f"split these modules: {too_long}"
