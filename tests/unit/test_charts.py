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
