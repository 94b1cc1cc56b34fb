"""CLI contract: --help, usage errors exit 2, --json prints exactly one JSON object."""

import json
import subprocess
import sys

from engine.cli.main import main

ENGINE = [sys.executable, "-m", "engine"]


def test_help_lists_the_commands():
    out = subprocess.run([*ENGINE, "--help"], capture_output=True, text=True, timeout=60, check=True).stdout
    for command in ("cluster", "hdfs", "jobs", "settings"):
        assert command in out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_usage_error_with_json_prints_one_object(capsys):
    assert main(["hdfs", "blocks", "--json"]) == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "error" in json.loads(out[0])


def test_bad_setting_is_named_and_exits_2():
    env = {"PATH": "/usr/bin:/bin", "MRI_DATANODES": "lots"}
    done = subprocess.run([*ENGINE, "settings"], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert "MRI_DATANODES" in done.stderr and "Traceback" not in done.stderr


def test_settings_json(capsys):
    assert main(["settings", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["replication"] >= 1 and data["namenode_http"].startswith("http")


def test_the_demo_dataset_name_is_reserved(capsys, tmp_path):
    assert main(["dataset", "ingest", str(tmp_path), "--name", "demo", "--json"]) == 2
    assert "reserved for Demo mode" in json.loads(capsys.readouterr().out)["error"]


def test_a_negative_weight_decay_is_refused_before_any_work(capsys):
    assert main(["train", "anything", "--weight-decay", "-0.1", "--json"]) == 2
    assert "--weight-decay" in json.loads(capsys.readouterr().out)["error"]


def test_an_unknown_benchmark_mode_is_named(capsys):
    assert main(["benchmark", "train", "anything", "--modes", "local,bogus", "--json"]) == 2
    assert "bogus" in json.loads(capsys.readouterr().out)["error"]
