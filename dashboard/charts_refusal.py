"""Plots of `benchmark refusal`: images that are not brain MRI refused by group (the shipped gate, and with the
group left out of the brain-MRI check), and what became of real scans under each upload shift."""

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
    """What became of the real scans under each shift, one bar per shift: answered plainly and right, flagged for
    review, answered plainly and wrong (what a reader would take at face value and should not), refused."""
    names = list(result["shifts"])
    rows = [{"wrong_plain_answers": 0.0, **result["shifts"][n]} for n in names]  # older results did not count it
    parts = {
        "answered, right": [max(0.0, 1 - r["refused"] - r["uncertain"] - r["wrong_plain_answers"]) for r in rows],
        "flagged for review": [r["uncertain"] for r in rows],
        "answered, wrong, no flag": [r["wrong_plain_answers"] for r in rows],
        "refused": [r["refused"] for r in rows],
    }
    colours = {"answered, right": "#C9D6E3", "flagged for review": PALETTE[2], "answered, wrong, no flag": PALETTE[1], "refused": PALETTE[3]}
    fig = go.Figure()
    for name, shares in parts.items():
        fig.add_bar(y=names, x=shares, orientation="h", name=name, marker_color=colours[name], hovertemplate="%{y}: %{x:.1%} " + name + "<extra></extra>")
    fig.update_layout(
        barmode="stack", xaxis={"tickformat": ".0%", "range": [0, 1], "title": f"of {result['shift_scans']} real scans"}, yaxis={"autorange": "reversed"}
    )
    _layout(fig, f"Real scans under upload shifts (refusal target: at most {FALSE_REFUSAL_TARGET:.0%} a shift)", 160 + 24 * len(names))
    fig.update_layout(legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "traceorder": "normal"}, margin={"t": 70})
    return fig
