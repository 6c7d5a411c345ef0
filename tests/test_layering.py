"""Layering holds: core/ never imports streamlit or plotly; app_pages/ never import torch; components never torch.nn."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit_or_plotly():
    offenders = {p.name: imported_modules(p) & {"streamlit", "plotly"} for p in (ROOT / "core").glob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_pages_never_import_torch_or_transformers():
    pages = list((ROOT / "app_pages").glob("*.py"))
    assert len(pages) >= 3
    offenders = {p.name: imported_modules(p) & {"torch", "transformers"} for p in pages}
    assert not {k: v for k, v in offenders.items() if v}


def test_only_one_cache_resource_wrapper():
    users = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "tests" not in p.parts
             and "cache_resource" in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in users] == ["components/model_cache.py"]


def test_no_legacy_pages_folder():
    """A folder named pages/ beside app.py puts Streamlit in legacy multipage mode until st.navigation runs once
    in the process (the blank first request of issue 13); the pages live in app_pages/ instead."""
    assert not (ROOT / "pages").exists()
    assert len(list((ROOT / "app_pages").glob("*.py"))) >= 3
