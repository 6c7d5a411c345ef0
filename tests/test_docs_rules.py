"""docs/ARCHITECTURE.md's rules, each checked on the code (ast, no imports of the app): ui and views never import
torch or transformers; session-state keys are constants of ui/state.py; a DynamicCache is made only where the docs
say (the Stepper is the decode loop); every softmax in core is the one home or listed as something else; every
file and name the docs mention exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
STATE_FILE = ROOT / "ui" / "state.py"
STATE_METHODS = ("get", "setdefault", "pop")


def imported_roots(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def app_files() -> list[Path]:
    """The Streamlit side of the app: app.py, ui/, views/ (a page's package too), app_pages/."""
    return [ROOT / "app.py", *(p for d in ("ui", "views", "app_pages") for p in sorted((ROOT / d).rglob("*.py")))]


def test_ui_and_views_never_import_torch_or_transformers():
    files = [p for d in ("ui", "views") for p in (ROOT / d).rglob("*.py")]
    assert len(files) >= 30
    offenders = {p.relative_to(ROOT).as_posix(): imported_roots(p) & {"torch", "transformers"} for p in files}
    assert not {k: v for k, v in offenders.items() if v}


def test_no_part_of_core_imports_streamlit_or_plotly():
    """core/ and its subpackages (core/serving/ too) stay a library usable from a notebook."""
    offenders = {
        p.relative_to(ROOT).as_posix(): imported_roots(p) & {"streamlit", "plotly"}
        for p in (ROOT / "core").rglob("*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}


# ---- session-state keys ------------------------------------------------------------------------------------------


def _is_session_state(node: ast.AST, aliases: set[str]) -> bool:
    """``st.session_state`` (any ``x.session_state``) or a name bound to it (``ss = st.session_state``)."""
    return (isinstance(node, ast.Attribute) and node.attr == "session_state") or (
        isinstance(node, ast.Name) and node.id in aliases
    )


def _literal(node: ast.AST | None) -> bool:
    """A key written out in the code: a string constant, or an f-string that does not start from a constant."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    return isinstance(node, ast.JoinedStr) and (not node.values or isinstance(node.values[0], ast.Constant))


def literal_state_keys(source: str) -> list[tuple[int, str]]:
    """(line, how) of every string-literal session-state key in ``source``: st.session_state["k"], .get("k"),
    .setdefault("k"), .pop("k"), "k" in st.session_state, del st.session_state["k"], a widget's key="k", and a chart
    with on_select keyed by a literal."""
    tree = ast.parse(source)
    aliases = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_session_state(node.value, set())
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_session_state(node.value, aliases) and _literal(node.slice):
            found.append((node.lineno, "session_state[...]"))
        elif isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in STATE_METHODS
                and _is_session_state(func.value, aliases)
                and node.args
                and _literal(node.args[0])
            ):
                found.append((node.lineno, f"session_state.{func.attr}(...)"))
            for keyword in node.keywords:
                if keyword.arg == "key" and _literal(keyword.value):
                    found.append((node.lineno, "key="))
            if any(k.arg == "on_select" for k in node.keywords) and len(node.args) >= 2 and _literal(node.args[1]):
                found.append((node.lineno, "chart with on_select"))
        elif isinstance(node, ast.Compare) and _literal(node.left):
            if any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) and any(
                _is_session_state(c, aliases) for c in node.comparators
            ):
                found.append((node.lineno, "in session_state"))
    return found


def test_the_key_check_finds_each_form():
    source = (
        "import streamlit as st\nss = st.session_state\n"
        "st.session_state['a'] = 1\nst.session_state.get('b')\nss.setdefault(f'c.{i}', 0)\nss.pop('d', None)\n"
        "x = 'e' in st.session_state\nst.slider('S', key='f')\nshow_chart(fig, 'g', on_select=cb)\n"
        "st.session_state[state.OK] = 1\nst.slider('S', key=state.OK)\nst.button('B', key=f'{state.OK}.{i}')\n"
        "show_chart(fig, 'page.chart')\n"
    )
    assert [line for line, _ in literal_state_keys(source)] == [3, 4, 5, 6, 7, 8, 9]


def test_session_state_keys_are_constants_of_ui_state():
    """Every key is declared once, in ui/state.py, with its page prefix; the rest of the app names the constant."""
    offenders = [
        f"{path.relative_to(ROOT).as_posix()}:{line} {how}"
        for path in app_files()
        if path != STATE_FILE
        for line, how in literal_state_keys(path.read_text())
    ]
    assert not offenders, offenders


# ---- where core makes a cache and computes a softmax ---------------------------------------------------------------


def calls_in_core(names: tuple[str, ...]) -> set[tuple[str, str]]:
    """(core file, enclosing function as Class.method or function) of every call to one of ``names`` in core/."""
    found = set()

    def walk(node: ast.AST, path: str, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                walk(child, path, f"{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(child):
                    if isinstance(inner, ast.Call):
                        func = inner.func
                        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                        if name in names:
                            found.add((path, prefix + child.name))
            else:
                walk(child, path, prefix)

    for file in sorted((ROOT / "core").rglob("*.py")):
        walk(ast.parse(file.read_text()), file.relative_to(ROOT).as_posix(), "")
    return found


def docs_table(header: str) -> list[list[str]]:
    """The rows (cells, stripped) of the ARCHITECTURE.md table whose header line starts with ``header``."""
    lines = [line.strip() for line in ARCHITECTURE.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_a_dynamic_cache_is_made_only_where_the_docs_say():
    """The Stepper is the decode loop: any other place that makes a DynamicCache is listed, with why."""
    listed = set()
    for row in docs_table("| where | why it makes a cache |"):
        path, function = _ticked(row[0])
        listed.add((path, function))
    assert ("core/generation.py", "Stepper.__init__") in listed
    found = calls_in_core(("DynamicCache",))
    assert found == listed, f"update the cache table in docs/ARCHITECTURE.md: {sorted(found ^ listed)}"


def test_every_softmax_in_core_is_the_one_home_or_listed_as_something_else():
    listed = set()
    for row in docs_table("| where | function | what it computes |"):
        (path,) = _ticked(row[0])
        listed.update((path, function) for function in _ticked(row[1]))
    assert ("core/next_token.py", "next_token_probs") in listed
    found = calls_in_core(("softmax", "log_softmax"))
    assert found == listed, f"update the softmax table in docs/ARCHITECTURE.md: {sorted(found ^ listed)}"


# ---- every file and name the docs mention exists -------------------------------------------------------------------


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def named_things(text: str) -> tuple[set[str], set[str]]:
    """Every backticked path with a folder (``core/serving/inference.py``, ``core/serving/``) and every backticked
    dotted name of the app's packages (``ui.errors.run_guarded``) in ``text``."""
    ticked = re.findall(r"`([^`\s]+)`", text)
    paths = {t for t in ticked if "/" in t and re.fullmatch(r"[\w./]+", t)}
    dotted = {t for t in ticked if re.fullmatch(r"(core|ui|components|views)(\.\w+)+", t)}
    return paths, dotted


def _resolves(dotted: str) -> bool:
    """``pkg.module[.name[.attr]]``: the module file exists and defines the name at top level."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        module = ROOT.joinpath(*parts[:split])
        file = module.with_suffix(".py")
        if file.is_file() or (module / "__init__.py").is_file():
            rest = parts[split:]
            return not rest or rest[0] in _top_level_names(file if file.is_file() else module / "__init__.py")
    return False


@pytest.mark.parametrize("doc", ["ARCHITECTURE.md", "CONCEPTS.md"])
def test_every_file_and_name_the_docs_mention_exists(doc):
    paths, dotted = named_things((ROOT / "docs" / doc).read_text())
    assert len(paths) + len(dotted) >= 10
    paths.discard("pages/")  # named as the folder that must not exist (tests/test_layering.py checks it is absent)
    missing = sorted(p for p in paths if not (ROOT / p).exists()) + sorted(d for d in dotted if not _resolves(d))
    assert not missing, missing


REPO_FOLDERS = ("core", "ui", "views", "components", "app_pages", "tests", "benchmarks", "deploy", "docs")


@pytest.mark.parametrize(
    "doc", ["README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md"))), "deploy/README.md"]
)
def test_every_repository_file_any_doc_names_exists(doc):
    """A renamed or moved module leaves no stale name in the README or docs/ (URL paths, the operator's own files
    and other packages' paths are not the repository's: only paths under the code folders are checked)."""
    paths, dotted = named_things((ROOT / doc).read_text())
    ours = {p for p in paths if p.split("/")[0] in REPO_FOLDERS and p != "pages/"}
    missing = sorted(p for p in ours if not (ROOT / p).exists()) + sorted(d for d in dotted if not _resolves(d))
    assert not missing, missing


def _module_or_package(folder: str, name: str) -> bool:
    """``folder/name`` exists as a file, or (``x.py`` in views/) as the page's package ``views/x/``."""
    package = ROOT / folder / name.removesuffix(".py") / "__init__.py"
    return (ROOT / folder / name).is_file() or (folder == "views" and package.is_file())


def test_every_module_in_the_concept_table_exists_in_its_layer():
    """core, components and page columns name files of core/, components/ and app_pages/ (and the page's parts
    in views/: a module, or a package of the same name)."""
    rows = docs_table("| concept | core | components | page")
    assert len(rows) >= 12
    missing = []
    for concept, core, components, pages in rows:
        for folder, cell in (("core", core), ("components", components), ("app_pages", pages), ("views", pages)):
            missing += [f"{concept}: {folder}/{name}" for name in _ticked(cell) if not _module_or_package(folder, name)]
    assert not missing, missing


def test_every_module_in_the_layer_and_serving_tables_exists():
    rows = docs_table("| layer | may import | never imports |") + docs_table("| module | what it is |")
    assert len(rows) >= 9
    for row in rows:
        (name,) = [t for t in _ticked(row[0])]
        assert (ROOT / name).exists(), name


def test_each_layer_never_imports_what_the_layer_table_says():
    """The layer table's "never imports" column, read from the docs and checked on every file of the layer."""
    checked = 0
    for row in docs_table("| layer | may import | never imports |"):
        (folder,) = _ticked(row[0])
        banned = {name.strip(" `") for name in row[2].split(",")}
        banned = {name for name in banned if re.fullmatch(r"\w+", name)}  # "another page's views" is checked above
        files = sorted((ROOT / folder).rglob("*.py"))
        assert files and banned, folder
        offenders = {p.relative_to(ROOT).as_posix(): imported_roots(p) & banned for p in files}
        assert not {k: v for k, v in offenders.items() if v}, folder
        checked += len(files)
    assert checked >= 100
