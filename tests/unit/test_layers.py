"""Where code lives: engine/ never imports streamlit; dashboard/ never imports pyspark, hdfs or tensorflow."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package, forbidden", [("engine", {"streamlit"}), ("dashboard", {"pyspark", "hdfs", "tensorflow", "keras", "elephas"})])
def test_layering(package, forbidden):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    offenders = {str(f.relative_to(ROOT)): sorted(imported_modules(f) & forbidden) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_only_settings_reads_the_environment():
    # spark/session.py only *sets* PYSPARK_PYTHON/SPARK_LOCAL_IP, which Spark's launcher reads; data/executor.py runs on
    # Spark's Python workers, where Settings is not loaded, and reads only its fault-injection switch.
    allowed = {"engine/settings.py", "engine/spark/session.py", "engine/ml/tfsetup.py", "engine/ml/elephas_driver.py", "engine/data/executor.py"}
    users = {str(f.relative_to(ROOT)) for f in (ROOT / "engine").rglob("*.py") if "os.environ" in f.read_text() or "os.getenv" in f.read_text()}
    assert users <= allowed


# Which subpackage may import which: downward only (DESIGN.md). "shared" is engine's top-level modules.
ALLOWED = {
    "shared": set(),
    "hdfs": {"shared"},
    "spark": {"shared", "hdfs"},  # standalone workers go beside the DataNodes
    "data": {"shared", "hdfs", "spark"},
    "ml": {"shared", "hdfs", "spark", "data"},
    "clinic": {"shared", "hdfs", "data", "ml"},  # a clinician's answer needs no Spark
    "bench": {"shared", "hdfs", "spark", "data", "ml", "clinic"},
    "jobs": {"shared", "data", "ml"},  # typed requests mirror the config dataclasses and enums
    "cli": {"shared", "hdfs", "spark", "data", "ml", "clinic", "bench", "jobs"},
}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60


def engine_modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "engine").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def subpackage(module: str) -> str:
    parts = module.split(".")
    if module == "engine.__main__":
        return "cli"
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else "shared"


def engine_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Engine modules ``path`` imports, lazy imports inside functions included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("engine"):
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("engine")}
    return found & set(modules)


def test_subpackages_import_only_downward():
    modules = engine_modules()
    wrong = []
    for name, path in modules.items():
        for target in engine_imports(path, modules):
            here, there = subpackage(name), subpackage(target)
            if here != there and there not in ALLOWED[here]:
                wrong.append(f"{name} -> {target} ({here} may import {sorted(ALLOWED[here])})")
    assert wrong == []


def test_no_import_cycles_between_engine_modules():
    modules = engine_modules()
    graph = {name: engine_imports(path, modules) - {name} for name, path in modules.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*trail, node])):
                return cycle
        state[node] = 2
        return None

    cycles = [c for name in sorted(graph) if name not in state and (c := visit(name, []))]
    assert cycles == []


def test_every_subpackage_says_what_it_is_for():
    for name in ALLOWED:
        if name != "shared":
            init = ROOT / "engine" / name / "__init__.py"
            assert ast.get_docstring(ast.parse(init.read_text())), f"engine/{name}/__init__.py needs a docstring saying its one job"


@pytest.mark.parametrize("package", ["engine", "dashboard"])
def test_modules_and_functions_stay_small(package):
    too_long = []
    for path in sorted((ROOT / package).rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert too_long == []
