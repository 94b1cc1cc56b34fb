"""Plot builders: data in, plotly figure out (no Streamlit here, so tests need no browser)."""

from __future__ import annotations

import plotly.graph_objects as go

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
            fig.add_trace(go.Bar(
                x=[max(b["length"], 1)], y=[host], base=[b["offset"]], orientation="h",
                marker={"color": color, "line": {"color": "white", "width": 2}},
                name=f"block {i}", legendgroup=f"block {i}", showlegend=host == b["hosts"][0],
                hovertemplate=(f"block {i} · blk_{b['block_id']}<br>offset {b['offset']:,} B<br>"
                               f"length {b['length']:,} B<br>replica on {host}<extra></extra>"),
                text=f"#{i}", textposition="inside",
            ))
    fig.update_layout(
        barmode="overlay", height=80 + 48 * max(len(rows), 1), margin={"l": 10, "r": 10, "t": 30, "b": 40},
        xaxis={"title": "byte offset in the file", "range": [0, max(blocks["length"], 1)]},
        yaxis={"categoryorder": "array", "categoryarray": list(reversed(rows)), "title": None},
        legend={"orientation": "h", "y": 1.12}, title=None,
    )
    return fig


def datanode_usage(datanodes: list[dict]) -> go.Figure:
    """Blocks per DataNode, coloured by live/dead."""
    names = [d["name"] for d in datanodes]
    fig = go.Figure(go.Bar(
        x=names, y=[d.get("blocks") or 0 for d in datanodes],
        marker={"color": ["#54A24B" if d["live"] else "#E45756" for d in datanodes]},
        hovertemplate="%{x}: %{y} blocks<extra></extra>",
    ))
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, yaxis={"title": "blocks"})
    return fig
