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


SKIPPED_FOLDERS = {"tests", "benchmarks", "artifacts", "node_modules", "__pycache__"}


def project_files() -> list[Path]:
    """The app's own .py files: every folder but hidden ones (.venv, .cache with llama.cpp's venv: tens of thousands
    of files), tests and benchmarks."""
    found = [ROOT / "app.py"]
    for folder in sorted(ROOT.iterdir()):
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in SKIPPED_FOLDERS:
            found += sorted(folder.rglob("*.py"))
    return found


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
    users = {p.relative_to(ROOT).parts[0] for p in project_files() if "streamlit" in imported_modules(p)}
    assert users <= {"ui", "views", "app_pages", "app.py"}, users


def test_pages_never_import_torch_or_transformers():
    pages = list((ROOT / "app_pages").glob("*.py"))
    assert len(pages) >= 3
    offenders = {p.name: imported_modules(p) & {"torch", "transformers"} for p in pages}
    assert not {k: v for k, v in offenders.items() if v}


def test_only_one_cache_resource_wrapper():
    users = [p for p in project_files() if "cache_resource" in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in users] == ["ui/model_cache.py"]


def test_no_legacy_pages_folder():
    """A folder named pages/ beside app.py puts Streamlit in legacy multipage mode until st.navigation runs once
    in the process (a blank first request); the pages live in app_pages/ instead."""
    assert not (ROOT / "pages").exists()
    assert len(list((ROOT / "app_pages").glob("*.py"))) >= 3


def page_parts() -> set[str]:
    """The pages that have parts in views/: a module views/<page>.py, or a package views/<page>/ (a page with
    parts for several roles, one module each: the class poll's teacher and student)."""
    modules = {p.stem for p in (ROOT / "views").glob("*.py")} - {"__init__"}
    packages = {p.parent.name for p in (ROOT / "views").glob("*/__init__.py")}
    assert not modules & packages, modules & packages  # one home per page, not both
    return modules | packages


def test_views_hold_one_module_per_page():
    """Each page's parts live in views/<page>.py (or the package views/<page>/), named exactly like
    app_pages/<page>.py: a newcomer adding a page sees from the layout which files to write. Only home has no parts
    (it is a list of links)."""
    pages = {p.stem for p in (ROOT / "app_pages").glob("*.py")}
    views = page_parts()
    assert views == pages - {"home"}, views ^ (pages - {"home"})


def test_a_page_parts_package_is_one_level_of_modules():
    """A page's package holds modules only (no package inside it), so every part is views/<page>/<module>.py."""
    nested = [p.relative_to(ROOT).as_posix() for p in (ROOT / "views").glob("*/*/__init__.py")]
    packages = page_parts()
    stray = [p.relative_to(ROOT).as_posix() for p in (ROOT / "views").glob("*/*.py") if p.parent.name not in packages]
    assert not nested and not stray, nested + stray


def test_page_parts_are_imported_only_by_their_page():
    """views/<page>.py (or views/<page>/) belongs to app_pages/<page>.py alone: shared ui, core, components and other
    pages never import it (what two pages share lives in ui/); a package's modules may import each other."""
    parts_of = page_parts()
    offenders = []
    for path in project_files():
        rel = path.relative_to(ROOT)
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] != "views" or len(parts) < 2 or parts[1] not in parts_of:
                    continue
                own = rel.as_posix() in (f"app_pages/{parts[1]}.py", f"views/{parts[1]}.py")
                allowed = own or rel.parts[:2] == ("views", parts[1])  # the page, or a module of its package
                if not allowed:
                    offenders.append((rel.as_posix(), name))
    assert not offenders, offenders


def test_shared_ui_never_imports_page_parts():
    offenders = {p.name: imported_modules(p) & {"views", "app_pages"} for p in (ROOT / "ui").glob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_core_has_no_import_cycle():
    """core/ reads as the lessons' concepts, each building on earlier ones: no module imports one that imports it
    back (lazy imports inside functions count too; they only hide a cycle)."""
    graph = {}
    for path in (ROOT / "core").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core"):
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("core"))
        graph[name] = deps
    seen, stack = set(), []

    def visit(module):
        if module in stack:
            raise AssertionError(" -> ".join([*stack[stack.index(module) :], module]))
        if module in seen or module not in graph:
            return
        stack.append(module)
        for dep in sorted(graph[module]):
            visit(dep)
        stack.pop()
        seen.add(module)

    for module in sorted(graph):
        visit(module)
