"""Plot builders for training, models and speed-ups: data in, plotly figure out."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.charts import PALETTE

METHOD_COLORS = {"sequential": "#7F7F7F", "pool": "#B279A2", "spark-rdd": "#F58518", "spark-arrow": "#4C78A8"}
_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "legend": {"orientation": "h", "y": -0.2}}


PHASE_COLORS = {"single": "#4C78A8", "frozen": "#72B7B2", "finetune": "#E45756"}
PHASE_NAMES = {"single": "", "frozen": " · head only (base frozen)", "finetune": " · fine-tuning"}


def _phase_segments(history: list[dict]) -> list[tuple[str, list[dict]]]:
    """Consecutive epochs of one phase; each later segment starts at the previous one's last epoch, so lines join."""
    segments: list[tuple[str, list[dict]]] = []
    for h in history:
        phase = h.get("phase", "single")
        if segments and segments[-1][0] == phase:
            segments[-1][1].append(h)
        else:
            segments.append((phase, ([segments[-1][1][-1]] if segments else []) + [h]))
    return segments


def training_curves(history: list[dict]) -> go.Figure:
    """Loss and accuracy per epoch, train (solid) and validation (dotted), one colour per training phase.

    A two-phase transfer run draws its head-only epochs and its fine-tuning epochs in two colours, with the
    switch marked: where the base was unfrozen and the learning rate dropped.
    """
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for phase, rows in _phase_segments(history):
        epochs, color = [h["epoch"] for h in rows], PHASE_COLORS.get(phase, "#4C78A8")
        for col, keys in ((1, ("loss", "val_loss")), (2, ("accuracy", "val_accuracy"))):
            for key, label, dash in zip(keys, ("training", "validation"), (None, "dot")):
                line_color = "#E45756" if phase == "single" and dash else color  # one phase: the usual blue and red
                fig.add_trace(
                    go.Scatter(
                        x=epochs,
                        y=[h.get(key) for h in rows],
                        name=label + PHASE_NAMES.get(phase, ""),
                        line={"color": line_color, "dash": dash},
                        legendgroup=f"{phase}.{label}",
                        showlegend=col == 1,
                    ),
                    1,
                    col,
                )
    switch = next((h["epoch"] for h in history if h.get("phase") == "finetune"), None)
    if switch is not None and switch > 1:
        for col in (1, 2):
            fig.add_vline(x=switch - 0.5, line={"color": "#888888", "dash": "dash"}, row=1, col=col)
        fig.add_annotation(
            x=switch - 0.5, y=1.0, yref="paper", text="base unfrozen, lower rate", showarrow=False, xanchor="left", font={"size": 11, "color": "#555555"}
        )
    fig.update_layout(height=340, **_LAYOUT)
    fig.update_xaxes(title_text="epoch", tickformat="d", dtick=max(1, len(history) // 10))  # whole epochs only
    return fig


def confusion(matrix: list[list[int]], classes: list[str], title: str = "") -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=classes,
            y=classes,
            colorscale="Blues",
            showscale=False,
            text=matrix,
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_layout(
        height=320,
        title=title or None,
        xaxis_title="predicted",
        yaxis={"title": "true", "autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
    )
    return fig


def reliability_diagram(bins: list[dict]) -> go.Figure:
    used = [b for b in bins if b["count"]]
    fig = go.Figure(
        [
            go.Scatter(x=[0, 1], y=[0, 1], name="perfect calibration", line={"color": "#BBBBBB", "dash": "dash"}),
            go.Scatter(
                x=[b["confidence"] for b in used],
                y=[b["accuracy"] for b in used],
                name="model",
                mode="lines+markers",
                marker={"size": [6 + min(20, b["count"] ** 0.5) for b in used]},
                line={"color": "#4C78A8"},
                hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f}<extra></extra>",
            ),
        ]
    )
    fig.update_layout(height=300, xaxis={"title": "confidence", "range": [0, 1]}, yaxis={"title": "accuracy", "range": [0, 1.02]}, **_LAYOUT)
    return fig


def _worker_axis(runs: list[dict]) -> dict:
    """Ticks at the measured worker counts only: a 2-core measurement is not drawn on a 16-worker axis."""
    measured = sorted({r["workers"] for r in runs})
    return {"title": "workers", "tickmode": "array", "tickvals": measured, "range": [min(measured) - 0.3, max(measured) + 0.3]}


def time_vs_workers(runs: list[dict], sequential: float) -> go.Figure:
    """Median seconds per method against workers, with the sequential loop as the reference line."""
    fig = go.Figure()
    for i, (key, rs) in enumerate(_series(runs).items()):
        method = key.split(" ")[0]
        fig.add_trace(
            go.Scatter(
                x=[r["workers"] for r in rs],
                y=[r["seconds_median"] for r in rs],
                name=key,
                mode="lines+markers",
                line={"color": METHOD_COLORS.get(method, PALETTE[i % len(PALETTE)]), "dash": "dot" if "files" in key else None},
            )
        )
    fig.add_hline(y=sequential, line={"color": "#333333", "dash": "dash"}, annotation_text="sequential loop", annotation_position="top left")
    fig.update_layout(height=320, xaxis=_worker_axis(runs), yaxis={"title": "seconds (median)", "rangemode": "tozero"}, **_LAYOUT)
    return fig


def speedup_chart(runs: list[dict], baseline: float) -> go.Figure:
    """Measured speed-up over the sequential loop (the line at 1) against the ideal line, at the measured worker counts."""
    series = _series(runs)
    measured = sorted({r["workers"] for r in runs})
    fig = go.Figure(go.Scatter(x=measured, y=measured, name="ideal (linear)", line={"color": "#BBBBBB", "dash": "dash"}))
    for key, rs in series.items():
        method = key.split(" ")[0]
        fig.add_trace(
            go.Scatter(
                x=[r["workers"] for r in rs],
                y=[baseline / r["seconds_median"] for r in rs],
                name=f"{key} (measured)",
                mode="lines+markers",
                line={"color": METHOD_COLORS.get(method, "#333"), "dash": "dot" if "files" in key else None},
            )
        )
    fig.add_hline(y=1, line={"color": "#333333", "dash": "dash"}, annotation_text="sequential loop (1x)", annotation_position="bottom right")
    fig.update_layout(height=340, xaxis=_worker_axis(runs), yaxis={"title": "speed-up over the loop", "rangemode": "tozero"}, **_LAYOUT)
    return fig


def amdahl_chart(amdahl: dict, measured_max: int) -> go.Figure:
    """Amdahl's law fitted to the compute stage: a model, drawn apart from the measurements and labelled so."""
    proj = amdahl["projection"]
    fig = go.Figure(
        go.Scatter(
            x=[p["workers"] for p in proj],
            y=[p["speedup"] for p in proj],
            mode="lines+markers",
            name=f"model: serial fraction {amdahl['serial_fraction']:.2f}",
            line={"color": "#54A24B", "dash": "longdash"},
        )
    )
    fig.add_vrect(
        x0=0.5, x1=measured_max + 0.5, fillcolor="#4C78A8", opacity=0.08, line_width=0, annotation_text="measured range", annotation_position="top left"
    )
    fig.update_layout(
        height=300,
        xaxis={"title": "workers (beyond the shaded range: projected, not measured)"},
        yaxis={"title": "speed-up of the compute stage", "rangemode": "tozero"},
        **_LAYOUT,
    )
    return fig


def efficiency_chart(runs: list[dict], baseline: float) -> go.Figure:
    fig = go.Figure()
    for key, rs in _series(runs).items():
        method = key.split(" ")[0]
        fig.add_trace(
            go.Bar(
                x=[str(r["workers"]) for r in rs],
                y=[baseline / r["seconds_median"] / r["workers"] for r in rs],
                name=key,
                marker_color=METHOD_COLORS.get(method, "#333"),
                opacity=0.6 if "files" in key else 1,
            )
        )
    fig.add_hline(y=1, line={"color": "#333333", "dash": "dash"}, annotation_text="every worker fully used (100%)")
    fig.update_layout(
        barmode="group",
        height=300,
        xaxis_title="workers",
        yaxis={"title": "efficiency (speed-up / workers)", "tickformat": ".0%", "rangemode": "tozero"},
        **_LAYOUT,
    )
    return fig


def breakdown_chart(runs: list[dict]) -> go.Figure:
    """Stacked parts of each Spark run: where the time goes."""
    parts = [("session_start", "#BBBBBB"), ("python_worker_start", "#B279A2"), ("read", "#72B7B2"), ("compute", "#4C78A8"), ("write", "#F58518")]
    spark_runs = [r for r in runs if r["method"].startswith("spark")]
    labels = [f"{r['method']} {r['input']} x{r['workers']}" for r in spark_runs]
    fig = go.Figure([go.Bar(name=p.replace("_", " "), x=labels, y=[r["breakdown"].get(p, 0) for r in spark_runs], marker_color=c) for p, c in parts])
    fig.update_layout(barmode="stack", height=340, yaxis_title="seconds", **_LAYOUT)
    return fig


def _series(runs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in runs:
        if r["method"] == "sequential":
            continue
        out.setdefault(f"{r['method']} {r['input']}", []).append(r)
    return {k: sorted(v, key=lambda r: r["workers"]) for k, v in out.items()}


def train_comparison(runs: list[dict]) -> go.Figure:
    """Seconds per epoch (bars) and validation accuracy (markers) for Keras and each Elephas mode and worker count."""
    labels = [f"{r['method']} x{r['workers']}" for r in runs]
    fig = go.Figure(
        [
            go.Bar(x=labels, y=[r["seconds_median"] for r in runs], name="seconds per epoch", marker_color="#4C78A8"),
            go.Scatter(
                x=labels, y=[r["val_accuracy"] for r in runs], name="validation accuracy", yaxis="y2", mode="markers", marker={"size": 12, "color": "#E45756"}
            ),
        ]
    )
    fig.update_layout(
        height=320, yaxis_title="seconds per epoch", yaxis2={"title": "validation accuracy", "overlaying": "y", "side": "right", "range": [0, 1]}, **_LAYOUT
    )
    return fig


def train_breakdown(runs: list[dict]) -> go.Figure:
    """Stacked parts of an epoch: Keras as one bar; Elephas as its workers' set-up and fit, and the driver's share."""
    parts = [
        ("worker_setup_seconds_median", "workers' set-up", "#B279A2"),
        ("worker_fit_seconds_median", "workers' fit", "#4C78A8"),
        ("driver_seconds_median", "driver: weights, BatchNorm, validation, checkpoint", "#F58518"),
    ]
    labels = [f"{r['method']} x{r['workers']}" for r in runs]
    fig = go.Figure(
        [
            go.Bar(
                name="Keras fit + validation",
                x=labels,
                marker_color="#72B7B2",
                y=[r["seconds_median"] if "worker_fit_seconds_median" not in r else 0 for r in runs],
            )
        ]
    )
    fig.add_traces([go.Bar(name=name, x=labels, y=[r.get(key, 0) for r in runs], marker_color=color) for key, name, color in parts])
    fig.update_layout(barmode="stack", height=320, yaxis_title="seconds per epoch (median)", **_LAYOUT)
    return fig


def adapt_curve(result: dict) -> go.Figure:
    """Test accuracy against labelled scans per class: trained from scratch, adapted, and the starting model as it was."""
    fig = go.Figure()
    for method, color, label in (("scratch", "#F58518", "from scratch"), ("adapted", "#4C78A8", "adapted from the starting model")):
        rows = sorted((r for r in result["runs"] if r["method"] == method), key=lambda r: r["per_class"])
        fig.add_trace(
            go.Scatter(
                x=[r["per_class"] for r in rows],
                y=[r["accuracy"] for r in rows],
                name=label,
                mode="lines+markers",
                line={"color": color},
                hovertemplate="%{x} per class: %{y:.1%}<extra>" + label + "</extra>",
            )
        )
    base = result.get("starting_model", {}).get("accuracy")
    if base is not None:
        fig.add_hline(y=base, line={"color": "#888888", "dash": "dash"}, annotation_text="starting model, not adapted", annotation_position="bottom right")
    fig.update_layout(
        height=320,
        xaxis={"title": "labelled scans per class", "type": "log", "tickvals": result["per_class"]},
        yaxis={"title": "accuracy on unseen scans", "tickformat": ".0%"},
        **_LAYOUT,
    )
    return fig
