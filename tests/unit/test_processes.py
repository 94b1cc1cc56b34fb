"""Pid records: a live process is found again, a stale or half-read record is not trusted, and a reader racing a
writer never loses the record (the cause of a DataNode running unrecorded after a restart in the fault tests)."""

import json
import os
import threading

import psutil

from engine.processes import record_process, recorded_process


def test_a_recorded_process_is_found_again(tmp_path):
    path = tmp_path / "pids" / "me.json"
    record_process(path, os.getpid(), log="x.log")
    assert recorded_process(path).pid == os.getpid()
    assert json.loads(path.read_text())["log"] == "x.log"
    assert [p.name for p in path.parent.iterdir()] == ["me.json"]  # nothing left aside


def test_a_reused_pid_is_not_taken_for_the_recorded_process_and_the_record_stays(tmp_path):
    path = tmp_path / "me.json"
    path.write_text(json.dumps({"pid": os.getpid(), "create_time": psutil.Process().create_time() - 3600}))
    assert recorded_process(path) is None
    assert path.exists()  # the next start replaces it; a reader never removes a record


def test_an_unreadable_record_is_not_trusted_and_a_new_one_replaces_it(tmp_path):
    path = tmp_path / "me.json"
    path.write_text("")
    assert recorded_process(path) is None
    record_process(path, os.getpid())
    assert recorded_process(path).pid == os.getpid()


def test_a_reader_racing_a_writer_always_finds_the_live_process(tmp_path):
    path = tmp_path / "me.json"
    record_process(path, os.getpid())
    misses, stop = [], threading.Event()

    def write() -> None:
        while not stop.is_set():
            record_process(path, os.getpid())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(3000):
            if recorded_process(path) is None:
                misses.append(1)
    finally:
        stop.set()
        writer.join()
    assert not misses
    assert recorded_process(path).pid == os.getpid()
