"""The layout holds: rooms import one way, Whoosh stays inside the index room."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import whoosh

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "civicsearch"
#: Import paths pickled into indexes: thin shims over civicsearch.index.analyzers.
SHIMS = {PACKAGE / "analysis.py", PACKAGE / "bigrams.py"}
#: The one module allowed under Whoosh's public API.
INTERNALS = PACKAGE / "index" / "internals.py"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_layers_contract_is_kept():
    """import-linter's layers contract (pyproject.toml): each room imports only the rooms below it."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency (pip install '.[test]')"
    done = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def test_whoosh_is_named_only_inside_the_index_room():
    naming = {p for p in _modules() if "whoosh" in p.read_text("utf-8")}
    outside = {p for p in naming if PACKAGE / "index" not in p.parents} - SHIMS
    assert not outside, sorted(map(str, outside))
    assert naming  # the check looks at the real tree


def _whoosh_private_names() -> set[str]:
    """Every private name Whoosh defines (functions, methods, attributes, module globals)."""
    names: set[str] = set()
    for path in Path(whoosh.__file__).parent.rglob("*.py"):
        source = path.read_text("utf-8", "replace")
        names.update(re.findall(r"\b(?:def|class)\s+(_[A-Za-z]\w*)", source))
        names.update(re.findall(r"\bself\.(_[A-Za-z]\w*)\s*=", source))
        names.update(re.findall(r"^(_[A-Za-z]\w*)\s*=", source, re.M))
    return {n for n in names if not n.startswith("__")}


def test_no_module_but_the_internals_touches_a_private_whoosh_name():
    private = _whoosh_private_names()
    assert {"_read_ids", "_finalize_segment", "_segments", "_INT_SIZE"} <= private  # the scan finds them
    found = []
    for path in _modules():
        if path == INTERNALS:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        own = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        own |= {t.attr for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AnnAssign))
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Attribute)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in private and node.attr not in own:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("whoosh"):
                found += [f"{path.relative_to(REPO)}:{node.lineno} import {a.name}" for a in node.names
                          if a.name.startswith("_")]
    assert not found, found


def test_internals_says_which_whoosh_it_was_written_against():
    pinned = re.search(r'"whoosh-reloaded==([\d.]+)"', (REPO / "pyproject.toml").read_text("utf-8"))
    assert pinned and f"whoosh-reloaded {pinned.group(1)}" in INTERNALS.read_text("utf-8")


def test_whoosh_is_imported_without_what_civicsearch_never_runs() -> None:
    code = ("import sys, civicsearch.index, whoosh.compat, whoosh.query.terms, whoosh.reading\n"
            "heavy = [m for m in ('urllib.request', 'asyncio', 'whoosh.lang.morph_en') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            "assert whoosh.query.terms.variations('running') and 'whoosh.lang.morph_en' in sys.modules\n"
            "assert whoosh.compat.urlretrieve.__name__ == 'urlretrieve'\n"
            "import urllib.request, cached_property\n"
            "assert urllib.request.urlopen and cached_property.cached_property\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_lazy_patterns_compile_on_first_use() -> None:
    from civicsearch.text import lazyre

    lazy = lazyre.compile(r"(?P<year>\d{4})年", re.ASCII)
    assert "search" not in vars(lazy)
    assert lazy.search("二〇二三 2023年").group("year") == "2023"
    assert "search" in vars(lazy) and lazy.pattern == r"(?P<year>\d{4})年" and lazy.flags & re.ASCII
    assert [m.group() for m in lazy.finditer("2023年和2024年")] == ["2023年", "2024年"]
