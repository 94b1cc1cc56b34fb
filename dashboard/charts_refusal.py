"""Plots of `benchmark refusal`: images that are not brain MRI refused by group (the shipped gate, and with the
group left out of the brain-MRI check), and real scans refused or flagged under each upload shift."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.charts import PALETTE

NON_MRI_TARGET = 0.95  # every group (issue #12)
FALSE_REFUSAL_TARGET = 0.02  # every shift


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 14}}, margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.15}, height=height
    )
    return fig


def refused_by_group(result: dict) -> go.Figure:
    """Share refused per group: what the shipped gate does, what a new image of a kind it learnt from meets, and
    what a kind of image it never learnt from meets."""
    groups = list(result["by_group"])
    left_out = result.get("by_group_left_out", {})
    fig = go.Figure()
    fig.add_bar(y=groups, x=[result["by_group"][g]["share"] for g in groups], orientation="h", name="shipped gate", marker_color=PALETTE[0])
    source_out = result.get("by_group_source_left_out", {})
    for shares, name, colour in (
        (source_out, "image never seen by the brain-MRI check (others of its kind seen)", PALETTE[2]),
        (left_out, "group never seen by the brain-MRI check", PALETTE[1]),
    ):
        if shares:
            fig.add_bar(y=groups, x=[shares[g]["share"] if g in shares else None for g in groups], orientation="h", name=name, marker_color=colour)
    fig.add_vline(x=NON_MRI_TARGET, line_dash="dot", annotation_text=f"target {NON_MRI_TARGET:.0%}")
    fig.update_layout(barmode="group", xaxis={"tickformat": ".0%", "range": [0, 1.02], "title": "refused"}, yaxis={"autorange": "reversed"})
    return _layout(fig, "Images that are not brain MRI: share refused", 120 + 60 * len(groups))


def shifts(result: dict) -> go.Figure:
    """Real scans under each shift: refused (should stay under the target) and flagged for review."""
    names = list(result["shifts"])
    fig = go.Figure()
    fig.add_bar(x=names, y=[result["shifts"][n]["refused"] for n in names], name="refused", marker_color=PALETTE[3 % len(PALETTE)])
    fig.add_bar(x=names, y=[result["shifts"][n]["uncertain"] for n in names], name="flagged for review", marker_color=PALETTE[2 % len(PALETTE)])
    fig.add_hline(y=FALSE_REFUSAL_TARGET, line_dash="dot", annotation_text=f"refusal target {FALSE_REFUSAL_TARGET:.0%}")
    fig.update_layout(barmode="group", yaxis={"tickformat": ".0%", "title": f"of {result['shift_scans']} real scans"}, xaxis={"tickangle": -40})
    return _layout(fig, "Real scans under upload shifts", 420)
