"""Layering holds: core/ never imports streamlit or plotly; components/ (pure builders) never import streamlit;
ui/ holds the Streamlit plumbing; app_pages/ never import torch; nothing in core/ or components/ imports ui/."""

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


def test_components_are_pure_builders():
    """components/ builds figures, HTML and tables from core results: testable without Streamlit."""
    modules = list((ROOT / "components").glob("*.py"))
    assert len(modules) >= 10
    offenders = {p.name: imported_modules(p) & {"streamlit", "ui"} for p in modules}
    assert not {k: v for k, v in offenders.items() if v}


def test_core_never_imports_the_app_layers():
    offenders = {p.name: imported_modules(p) & {"ui", "components", "app_pages"} for p in (ROOT / "core").rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_streamlit_only_in_ui_pages_and_app():
    users = {
        p.relative_to(ROOT).parts[0]
        for p in ROOT.rglob("*.py")
        if ".venv" not in p.parts
        and p.relative_to(ROOT).parts[0] not in ("tests", "benchmarks")
        and "streamlit" in imported_modules(p)
    }
    assert users <= {"ui", "app_pages", "app.py"}, users


def test_pages_never_import_torch_or_transformers():
    pages = list((ROOT / "app_pages").glob("*.py"))
    assert len(pages) >= 3
    offenders = {p.name: imported_modules(p) & {"torch", "transformers"} for p in pages}
    assert not {k: v for k, v in offenders.items() if v}


def test_only_one_cache_resource_wrapper():
    users = [
        p
        for p in ROOT.rglob("*.py")
        if ".venv" not in p.parts and "tests" not in p.parts and "cache_resource" in p.read_text()
    ]
    assert [p.relative_to(ROOT).as_posix() for p in users] == ["ui/model_cache.py"]


def test_no_legacy_pages_folder():
    """A folder named pages/ beside app.py puts Streamlit in legacy multipage mode until st.navigation runs once
    in the process (the blank first request of issue 13); the pages live in app_pages/ instead."""
    assert not (ROOT / "pages").exists()
    assert len(list((ROOT / "app_pages").glob("*.py"))) >= 3
