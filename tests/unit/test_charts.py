"""Plot builders draw what they are given."""

from dashboard import charts

BLOCKS = {
    "path": "/f",
    "length": 2_500_000,
    "block_size": 1_048_576,
    "replication": 2,
    "blocks": [
        {"block_id": 1, "offset": 0, "length": 1_048_576, "hosts": ["datanode1", "datanode2"]},
        {"block_id": 2, "offset": 1_048_576, "length": 1_048_576, "hosts": ["datanode2", "datanode3"]},
        {"block_id": 3, "offset": 2_097_152, "length": 402_848, "hosts": ["datanode1", "datanode3"]},
    ],
}


def test_block_map_has_one_bar_per_replica():
    fig = charts.block_map(BLOCKS, ["datanode1", "datanode2", "datanode3"])
    assert len(fig.data) == 6
    assert {bar.y[0] for bar in fig.data} == {"datanode1", "datanode2", "datanode3"}
    assert sorted(bar.base[0] for bar in fig.data) == [0, 0, 1_048_576, 1_048_576, 2_097_152, 2_097_152]


def test_datanode_usage_colours_dead_nodes():
    fig = charts.datanode_usage([{"name": "dn1", "live": True, "blocks": 3}, {"name": "dn2", "live": False, "blocks": 0}])
    assert list(fig.data[0].marker.color) == ["#54A24B", "#E45756"]


def test_training_breakdown_stacks_elephas_parts_and_keeps_keras_whole():
    from dashboard import charts_ml

    runs = [
        {"method": "keras", "workers": 1, "seconds_median": 30.0},
        {
            "method": "elephas-synchronous",
            "workers": 2,
            "seconds_median": 36.0,
            "worker_setup_seconds_median": 0.3,
            "worker_fit_seconds_median": 33.0,
            "driver_seconds_median": 2.7,
        },
    ]
    fig = charts_ml.train_breakdown(runs)
    by_name = {bar.name: list(bar.y) for bar in fig.data}
    assert by_name["Keras fit + validation"] == [30.0, 0]
    assert by_name["workers' fit"] == [0, 33.0]
    assert sum(bar.y[1] for bar in fig.data) == 36.0


def test_two_phase_curves_draw_each_phase_in_its_colour_and_mark_the_switch():
    from dashboard.charts_ml import PHASE_COLORS, training_curves

    history = [
        {"epoch": e, "phase": "frozen" if e <= 2 else "finetune", "loss": 1 / e, "val_loss": 1.1 / e, "accuracy": 0.5 + e / 20, "val_accuracy": 0.5 + e / 25}
        for e in range(1, 6)
    ]
    fig = training_curves(history)
    colours = {t.line.color for t in fig.data}
    assert {PHASE_COLORS["frozen"], PHASE_COLORS["finetune"]} <= colours
    finetune = [t for t in fig.data if t.line.color == PHASE_COLORS["finetune"]]
    assert all(list(t.x) == [2, 3, 4, 5] for t in finetune)  # joined to the last head-only epoch
    assert [s.x0 for s in fig.layout.shapes] == [2.5, 2.5]  # the switch, on both panels
    single = training_curves([{**h, "phase": "single"} for h in history])
    assert not single.layout.shapes and len(single.data) == 4


def test_adapt_curve_has_both_methods_and_the_starting_model():
    from dashboard.charts_ml import adapt_curve

    result = {
        "per_class": [10, 50],
        "starting_model": {"accuracy": 0.9},
        "runs": [
            {"per_class": n, "method": m, "accuracy": a}
            for n, m, a in ((10, "scratch", 0.5), (10, "adapted", 0.92), (50, "scratch", 0.7), (50, "adapted", 0.95))
        ],
    }
    fig = adapt_curve(result)
    assert [list(t.y) for t in fig.data] == [[0.5, 0.7], [0.92, 0.95]]
    assert fig.layout.shapes[0].y0 == 0.9


def test_refusal_chart_draws_a_bar_per_measure_a_result_holds():
    from dashboard.charts_refusal import refused_by_group

    row = {"n": 5, "refused": 4, "share": 0.8}
    older = {"by_group": {"other modalities: CT": row, "photographs, grey": row}, "by_group_left_out": {"other modalities: CT": row}}
    assert [t.name for t in refused_by_group(older).data] == ["shipped gate", "group never seen by the brain-MRI check"]
    newer = {**older, "by_group_source_left_out": {"other modalities: CT": {**row, "share": 0.6}}}
    bars = refused_by_group(newer).data
    assert len(bars) == 3 and list(bars[1].x) == [0.6, None]  # a group without the measure gets no bar, not a zero


def test_shift_chart_splits_every_shift_into_what_became_of_its_scans():
    from dashboard.charts_refusal import shifts

    result = {
        "shift_scans": 120,
        "shifts": {
            "none (PNG)": {"refused": 0.0, "uncertain": 0.08, "accuracy_answered": 0.99, "wrong_plain_answers": 0.0},
            "rotated 90°": {"refused": 0.02, "uncertain": 0.28, "accuracy_answered": 0.64, "wrong_plain_answers": 0.18},
            "older result": {"refused": 0.01, "uncertain": 0.1, "accuracy_answered": 0.9},  # before wrong answers were counted
        },
    }
    bars = shifts(result).data
    assert [b.name for b in bars] == ["answered, right", "flagged for review", "answered, wrong, no flag", "refused"]
    for i in range(3):
        assert abs(sum(b.x[i] for b in bars) - 1) < 1e-9
    assert bars[2].x[1] == 0.18 and bars[0].x[1] == 1 - 0.02 - 0.28 - 0.18
