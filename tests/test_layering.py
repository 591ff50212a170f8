"""The layout's promises, read from the source with `ast`: no import cycle, the engine never imports
the application, and within the engine no layer imports one above it.

Every import counts, at module level or inside a function (a lazy import is still a dependency),
and so do imports under `if TYPE_CHECKING:`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the checkout's folders and the packages they install as (pyproject.toml, [tool.setuptools.package-dir])
PACKAGES = {"index": "newsdesk.index", "bot": "newsdesk.bot"}

# The engine's layers, lowest first: a module may import its own group and the groups below it, never
# one beside or above it. "core" is the modules at the top of index/ that everything shares.
LAYERS = [
    ("core",),
    ("models", "store"),
    ("search",),
    ("ingest",),
    ("answer", "feeds"),
    ("facade",),
]
RANK = {group: rank for rank, groups in enumerate(LAYERS) for group in groups}
# the facade: Engine, and what it alone wires (newsdesk.index's own names, the application's data)
FACADE = {"newsdesk.index", "newsdesk.index.engine", "newsdesk.index.app_data"}


def modules() -> dict[str, Path]:
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules that `name` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module
            targets.add(source)
            targets.update(f"{source}.{alias.name}" for alias in node.names)  # `from package import module`
    return {t for t in targets if t in known and t != name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


ENGINE_PACKAGES = {p.name for p in (ROOT / "index").iterdir() if (p / "__init__.py").exists()}


def group_of(module: str) -> str:
    """The engine package a module belongs to (newsdesk.index.<package>...), or core, or the facade."""
    if module in FACADE:
        return "facade"
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[2] in ENGINE_PACKAGES else "core"


def test_the_graph_is_read(graph):
    """Guards the test itself: the modules are found and their imports resolved."""
    assert "newsdesk.index.answer.pipeline" in graph["newsdesk.index.engine"]
    assert "newsdesk.index.feeds.ingest_port" in graph["newsdesk.index.feeds.polling"]
    assert "newsdesk.bot.discord.identify_postgres" in graph["newsdesk.bot.discord.identify_backend"]


def test_no_import_cycle(graph):
    state: dict[str, str] = {}  # "open" while on the path walked, "done" after

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycle = path[path.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_engine_never_imports_the_application(graph):
    wrong = [(m, t) for m, targets in graph.items() for t in targets
             if m.startswith("newsdesk.index") and t.startswith("newsdesk.bot")]
    assert wrong == []


def test_no_engine_layer_imports_one_above_it(graph):
    wrong = []
    for module, targets in graph.items():
        if not module.startswith("newsdesk.index"):
            continue
        group = group_of(module)
        for target in targets:
            other = group_of(target)
            if other != group and RANK[other] >= RANK[group]:
                wrong.append(f"{module} ({group}) imports {target} ({other})")
    assert wrong == []


# The question path's stages in order, each with the modules only it uses: a stage imports earlier ones
# (their typed values), never a later one, and nothing calls back up.
STAGES = [
    ("plan", "time_words"),
    ("shortlist",),
    ("read",),
    ("quote", "selection"),
    ("pipeline",),
    ("follows",),
]
STAGE = {f"newsdesk.index.answer.{m}": rank for rank, stage in enumerate(STAGES) for m in stage}


def test_the_question_path_runs_one_way(graph):
    answer_modules = {m for m in graph if m.startswith("newsdesk.index.answer.")}
    assert answer_modules == set(STAGE)  # a new module of answer/ takes its place in STAGES
    wrong = [f"{m} imports the later {t}" for m in answer_modules for t in graph[m] if t in STAGE and STAGE[t] > STAGE[m]]
    assert wrong == []


def test_every_engine_package_has_a_layer(graph):
    groups = {group_of(m) for m in graph if m.startswith("newsdesk.index")}
    assert groups <= set(RANK)
