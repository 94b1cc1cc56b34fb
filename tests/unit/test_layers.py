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
