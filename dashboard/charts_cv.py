"""Plots of a cross-validation: per-class recall and refusals fold by fold, against the targets."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.charts import PALETTE

RECALL_TARGET = 0.985  # every class's recall (issue #12)
REFUSAL_TARGET = 0.02  # false refusal, every class


def cv_recall(result: dict) -> go.Figure:
    """Recall of each class in each fold (bars) beside the overall accuracy (diamonds), with the target line."""
    fig = go.Figure()
    folds = [f"fold {f['fold']}" for f in result["folds"]]
    classes = list(result["folds"][0]["per_class"])
    for i, cls in enumerate(classes):
        fig.add_bar(x=folds, y=[f["per_class"][cls] for f in result["folds"]], name=cls, marker_color=PALETTE[i % len(PALETTE)])
    fig.add_scatter(
        x=folds, y=[f["accuracy"] for f in result["folds"]], mode="markers", name="accuracy", marker={"symbol": "diamond", "size": 12, "color": "#222"}
    )
    fig.add_hline(y=RECALL_TARGET, line_dash="dot", annotation_text=f"target {RECALL_TARGET:.1%}", annotation_position="bottom right")
    low = min(min(f["per_class"].values()) for f in result["folds"])
    fig.update_layout(
        yaxis={"title": "recall on the fold's unseen scans", "tickformat": ".0%", "range": [min(0.9, low - 0.01), 1.0]},
        barmode="group",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        height=340,
    )
    return fig


def cv_refusals(result: dict) -> go.Figure:
    """Real brain MRI refused and flagged for review in each fold, per class, against the 2% refusal target (the
    dataset's own images that are not brain MRI set apart, where the result lists them)."""
    fig = go.Figure()
    folds = [f"fold {f['fold']}" for f in result["folds"]]
    classes = list(result["folds"][0]["per_class"])
    key = "refused_brain_mri" if all("refused_brain_mri" in f for f in result["folds"]) else "refused"
    for i, cls in enumerate(classes):
        fig.add_bar(x=folds, y=[f[key]["per_class"][cls] for f in result["folds"]], name=f"{cls} refused", marker_color=PALETTE[i % len(PALETTE)])
    fig.add_scatter(
        x=folds,
        y=[f["uncertain"] for f in result["folds"]],
        mode="markers+lines",
        name="flagged for review (all classes)",
        line={"color": "#888", "dash": "dot"},
    )
    fig.add_hline(y=REFUSAL_TARGET, line_dash="dot", annotation_text="refusal target 2%", annotation_position="top right")
    fig.update_layout(
        yaxis={"title": "share of the fold's real scans", "tickformat": ".1%", "rangemode": "tozero"},
        barmode="group",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        height=300,
    )
    return fig
