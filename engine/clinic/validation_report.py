"""The Validate page's PDF: a model's figures on a hospital's own labelled scans, per class, with what the
clinician would have been told (answered, flagged for review, refused), and the model's intended use."""

from __future__ import annotations

import base64
import io
import time

from fpdf import FPDF

from engine.classes import CLASS_LABELS, CLASSES
from engine.clinic.report import FONT, FONT_DIR, intended_use_block, notice_block


def _table(pdf: FPDF, header: list[str], rows: list[list[str]], widths: list[int]) -> None:
    pdf.set_font(FONT, "B", 8)
    for text, w in zip(header, widths):
        pdf.cell(w, 6, text, border=1)
    pdf.ln()
    pdf.set_font(FONT, "", 8)
    for row in rows:
        for text, w in zip(row, widths):
            pdf.cell(w, 5, text, border=1)
        pdf.ln()


def _gallery(pdf: FPDF, gallery: list[dict]) -> None:
    """The first eight scans to review, as Grad-CAM thumbnails labelled with the true class and the answer."""
    if gallery:
        pdf.ln(3)
        pdf.set_font(FONT, "B", 9)
        pdf.cell(0, 6, "To review first: the most confident errors and the refusals, with Grad-CAM", new_x="LMARGIN", new_y="NEXT")
        y0, x = pdf.get_y(), 10
        for g in gallery[:8]:
            pdf.image(io.BytesIO(base64.b64decode(g["png"])), x=x, y=y0, w=22, h=22)
            pdf.set_xy(x, y0 + 22)
            pdf.set_font(FONT, "", 6)
            label = f"{g['true']} → {g['predicted']}" if g["kind"] == "error" else f"{g['true']}: refused"
            pdf.cell(23, 3, label)
            x += 24
        pdf.set_y(y0 + 28)


def validation_pdf(result: dict, card: dict) -> bytes:
    """``result``: the JSON of `evaluate` with the clinic's gate (:func:`engine.clinic.validate.gate_report`)."""
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    pdf.add_page()
    pdf.set_font(FONT, "B", 15)
    pdf.cell(0, 9, "Validation on local labelled scans", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} · model {result['model']}", new_x="LMARGIN", new_y="NEXT")
    ci = result["accuracy_ci95"]
    summary = (
        f"{result['n']} labelled scans. Accuracy {result['accuracy']:.2%} (95% CI {ci[0]:.1%}-{ci[1]:.1%}), macro F1 {result['macro_f1']:.3f}, "
        f"calibration error {result['ece']:.3f}. A clinician would have seen {result['refused']['total']} refused, "
        f"{result['uncertain']['total']} flagged for review; accuracy on the answered scans "
        + (f"{result['accuracy_accepted']:.2%}." if result.get("accuracy_accepted") is not None else "n/a.")
    )
    pdf.multi_cell(0, 5, summary, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    rows = []
    for cls in CLASSES:
        m = result["per_class"][cls]
        rows.append(
            [
                CLASS_LABELS[cls],
                str(m["support"]),
                f"{m['recall']:.1%}",
                f"{m['precision']:.1%}",
                str(result["refused"]["per_class"][cls]),
                str(result["uncertain"]["per_class"][cls]),
            ]
        )
    _table(pdf, ["class", "scans", "recall", "precision", "refused", "flagged"], rows, [45, 20, 25, 25, 25, 25])
    pdf.ln(3)
    pdf.set_font(FONT, "B", 9)
    pdf.cell(0, 6, "Confusion matrix (rows: true class, columns: answer)", new_x="LMARGIN", new_y="NEXT")
    _table(
        pdf,
        ["", *[CLASS_LABELS[c] for c in CLASSES]],
        [[CLASS_LABELS[c], *map(str, row)] for c, row in zip(CLASSES, result["confusion_matrix"])],
        [45, 35, 35, 35, 35],
    )
    _gallery(pdf, result.get("gallery") or [])
    intended_use_block(pdf, card, top=222)
    notice_block(pdf)
    return bytes(pdf.output())
