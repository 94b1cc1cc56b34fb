"""Progress sinks: the event file a job writes, the terminal bar the CLI draws."""

import io
import json

from engine.progress import EventFile, TerminalBar, fan_out


def test_event_file_appends_json_lines(tmp_path):
    sink = EventFile(tmp_path / "events.jsonl")
    sink(1, 4, "one")
    sink(4, 4, "done")
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [(e["done"], e["total"], e["message"]) for e in events] == [(1, 4, "one"), (4, 4, "done")]


def test_bar_on_a_pipe_prints_one_line_per_step():
    stream = io.StringIO()
    bar = TerminalBar(stream)
    fan_out(bar)(0, 10, "reading")
    for i in range(1, 10):
        bar(i, 10, "reading")
    bar(10, 10, "reading")
    assert stream.getvalue().count("\n") == 2
