"""Errors with types: pages and their parts catch only the errors core (or ui) names for what a person did wrong;
anything else, a bug included, reaches the one last-line handler (ui.errors.run_guarded, called by app.py), which
shows a plain message and logs the traceback."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE_FILES = sorted([*(ROOT / "app_pages").glob("*.py"), *(ROOT / "views").rglob("*.py")])  # a page's package too


def _caught_names(handler: ast.ExceptHandler) -> list[str]:
    """The class names an ``except`` clause catches ("" for a bare ``except:``)."""
    if handler.type is None:
        return [""]
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return [node.id if isinstance(node, ast.Name) else ast.unparse(node) for node in nodes]


def _is_builtin_exception(name: str) -> bool:
    value = getattr(builtins, name, None)
    return name == "" or (isinstance(value, type) and issubclass(value, BaseException))


def builtin_catches(path: Path) -> list[str]:
    """Each ``except`` of ``path`` that catches a built-in exception class (or everything), as "file:line name"."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ExceptHandler):
            for name in _caught_names(node):
                if _is_builtin_exception(name):
                    found.append(f"{path.parent.name}/{path.name}:{node.lineno} {name or 'bare except'}")
    return found


def test_the_check_finds_what_it_forbids(tmp_path):
    """The rule's own check on a file that breaks it in each way (so the rule cannot pass by finding nothing)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "try:\n    x()\nexcept (PromptError, ValueError):\n    pass\n"
        "try:\n    x()\nexcept Exception:\n    pass\n"
        "try:\n    x()\nexcept:\n    pass\n"
        "try:\n    x()\nexcept PromptError:\n    pass\n"
    )
    found = [line.split(" ", 1)[1] for line in builtin_catches(sample)]
    assert found == ["ValueError", "Exception", "bare except"]


def test_pages_and_page_parts_catch_only_typed_errors():
    """No file in app_pages/ or views/ catches ValueError, Exception, any other built-in exception, or everything:
    a page shows the message of what the person did wrong (PromptError, ToyError, StepError, ...), and a bug is
    left to the last-line handler, which logs it."""
    assert len(PAGE_FILES) >= 20
    offenders = [catch for path in PAGE_FILES for catch in builtin_catches(path)]
    assert not offenders, offenders


def test_the_last_line_handler_is_the_one_catch_all():
    """ui.errors.run_guarded ends with a catch of everything a page lets out (re-raising Streamlit's control flow),
    and app.py runs every page through it."""
    handler = ast.parse((ROOT / "ui" / "errors.py").read_text())
    guard = next(n for n in handler.body if isinstance(n, ast.FunctionDef) and n.name == "run_guarded")
    tries = [n for n in ast.walk(guard) if isinstance(n, ast.Try)]
    assert len(tries) == 1 and _caught_names(tries[0].handlers[-1]) == ["BaseException"]
    app = ast.parse((ROOT / "app.py").read_text())
    calls = [
        node for node in ast.walk(app) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "run_guarded"
    ]
    assert len(calls) == 1 and calls[0] in list(ast.walk(app.body[-1]))  # the last statement runs the page in it
