"""Plot builders: data in, plotly figure out (no Streamlit here, so tests need no browser)."""

from __future__ import annotations

import plotly.graph_objects as go

from engine.classes import CLASS_LABELS

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6"]


def block_map(blocks: dict, datanodes: list[str]) -> go.Figure:
    """A file cut into blocks (x: byte offset) with one row per DataNode showing the replicas it holds.

    Args:
        blocks: the output of ``Storage.blocks`` (path, length, block_size, blocks[...]).
        datanodes: DataNode names to draw as rows, in order (every host of a block is added too).
    """
    rows = list(datanodes)
    for b in blocks["blocks"]:
        rows += [h for h in b["hosts"] if h not in rows]
    fig = go.Figure()
    for i, b in enumerate(blocks["blocks"]):
        color = PALETTE[i % len(PALETTE)]
        for host in b["hosts"]:
            fig.add_trace(
                go.Bar(
                    x=[max(b["length"], 1)],
                    y=[host],
                    base=[b["offset"]],
                    orientation="h",
                    marker={"color": color, "line": {"color": "white", "width": 2}},
                    name=f"block {i}",
                    legendgroup=f"block {i}",
                    showlegend=host == b["hosts"][0],
                    hovertemplate=(
                        f"block {i} · blk_{b['block_id']}<br>offset {b['offset']:,} B<br>length {b['length']:,} B<br>replica on {host}<extra></extra>"
                    ),
                    text=f"#{i}",
                    textposition="inside",
                )
            )
    fig.update_layout(
        barmode="overlay",
        height=110 + 48 * max(len(rows), 1),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis={"title": "byte offset in the file", "range": [0, max(blocks["length"], 1)]},
        yaxis={"categoryorder": "array", "categoryarray": list(reversed(rows)), "title": None},
        # below the axis title, where it covers no bar
        legend={"orientation": "h", "y": -0.45 if len(rows) < 3 else -0.3, "yanchor": "top"},
        title=None,
    )
    return fig


def datanode_usage(datanodes: list[dict]) -> go.Figure:
    """Blocks per DataNode, coloured by live/dead."""
    names = [d["name"] for d in datanodes]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[d.get("blocks") or 0 for d in datanodes],
            marker={"color": ["#54A24B" if d["live"] else "#E45756" for d in datanodes]},
            hovertemplate="%{x}: %{y} blocks<extra></extra>",
        )
    )
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis={"title": "blocks"})
    return fig


CLASS_COLORS = {"glioma": "#E45756", "meningioma": "#F58518", "notumor": "#54A24B", "pituitary": "#4C78A8"}


def class_counts(stats: dict) -> go.Figure:
    """Images per class, one bar group per split."""
    fig = go.Figure()
    for cls, color in CLASS_COLORS.items():
        fig.add_trace(
            go.Bar(
                name=CLASS_LABELS[cls],
                x=stats["splits"],
                y=[stats["counts"][s][cls] for s in stats["splits"]],
                marker_color=color,
                hovertemplate=f"{CLASS_LABELS[cls]}: %{{y}}<extra>%{{x}}</extra>",
            )
        )
    fig.update_layout(barmode="group", height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis_title="images")
    return fig


def intensity_histograms(stats: dict) -> go.Figure:
    """Mean grey-level histogram per class (share of pixels per intensity bin)."""
    bins = stats["intensity_bins"]
    width = 256 / bins
    centers = [width * (i + 0.5) for i in range(bins)]
    fig = go.Figure()
    for cls, color in CLASS_COLORS.items():
        h = stats["intensity"].get(cls)
        if h:
            fig.add_trace(
                go.Scatter(x=centers, y=h["hist"], name=f"{CLASS_LABELS[cls]} (mean {h['mean']:.0f})", mode="lines", line={"color": color, "width": 2})
            )
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis_title="grey level",
        yaxis={"title": "share of pixels", "type": "log", "tickformat": ".1~%"},
    )  # 0.001%, not "10u"
    return fig


def file_sizes(stats: dict) -> go.Figure:
    """File-size distribution per class over fixed bins."""
    edges = stats["file_size_bins"]
    labels = [f"{edges[i] // 1000}-{edges[i + 1] // 1000} kB" if edges[i + 1] < 10**9 else f"> {edges[i] // 1000} kB" for i in range(len(edges) - 1)]
    fig = go.Figure()
    for cls, color in CLASS_COLORS.items():
        fig.add_trace(go.Bar(name=CLASS_LABELS[cls], x=labels, y=stats["file_sizes"][cls]["hist"], marker_color=color))
    fig.update_layout(barmode="group", height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis_title="files")
    return fig


def audit_per_class(audit: dict) -> go.Figure:
    """Per class: images in exact-duplicate groups and in near-duplicate groups."""
    classes = list(audit["per_class"])
    labels = [CLASS_LABELS.get(c, c) for c in classes]
    fig = go.Figure(
        [
            go.Bar(name="in exact-duplicate groups", x=labels, y=[audit["per_class"][c]["in_exact_groups"] for c in classes], marker_color="#E45756"),
            go.Bar(name="in near-duplicate groups", x=labels, y=[audit["per_class"][c]["in_near_groups"] for c in classes], marker_color="#F58518"),
        ]
    )
    fig.update_layout(barmode="group", height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis_title="images")
    return fig


def small_files(report: dict) -> go.Figure:
    """NameNode objects for one-file-per-scan against the packed copy."""
    fig = go.Figure(
        go.Bar(
            x=["one file per scan", "packed Parquet"],
            y=[report["raw_namenode_objects"], report["packed_namenode_objects"]],
            marker_color=["#E45756", "#54A24B"],
            text=[f"{report['raw_namenode_objects']:,}", f"{report['packed_namenode_objects']:,}"],
            textposition="outside",
        )
    )
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 20, "b": 10}, yaxis={"title": "NameNode objects", "type": "log"})
    return fig


def replication_timeline(samples: list[dict]) -> go.Figure:
    """Live DataNodes and under-replicated blocks over the last samples of the failure demo."""
    t = [s["t"] for s in samples]
    fig = go.Figure(
        [
            go.Scatter(x=t, y=[s["under_replicated"] for s in samples], name="under-replicated blocks", mode="lines+markers", line={"color": "#E45756"}),
            go.Scatter(
                x=t, y=[s["live_datanodes"] for s in samples], name="live DataNodes", mode="lines+markers", yaxis="y2", line={"color": "#54A24B", "dash": "dot"}
            ),
        ]
    )
    fig.update_layout(
        height=280,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": 1.15},
        yaxis={"title": "blocks", "rangemode": "tozero"},
        yaxis2={"title": "DataNodes", "overlaying": "y", "side": "right", "rangemode": "tozero", "dtick": 1},
    )
    return fig
