"""Plot builders draw what they are given."""

from dashboard import charts

BLOCKS = {
    "path": "/f", "length": 2_500_000, "block_size": 1_048_576, "replication": 2,
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

    runs = [{"method": "keras", "workers": 1, "seconds_median": 30.0},
            {"method": "elephas-synchronous", "workers": 2, "seconds_median": 36.0, "worker_setup_seconds_median": 0.3,
             "worker_fit_seconds_median": 33.0, "driver_seconds_median": 2.7}]
    fig = charts_ml.train_breakdown(runs)
    by_name = {bar.name: list(bar.y) for bar in fig.data}
    assert by_name["Keras fit + validation"] == [30.0, 0]
    assert by_name["workers' fit"] == [0, 33.0]
    assert sum(bar.y[1] for bar in fig.data) == 36.0
