"""A one-page PDF per scan (fpdf2): image, heat map, probabilities, model, date, SHA-256 and the decision-support notice.

Set in DejaVu Sans (shipped in assets/fonts), so any text (a model id, a DICOM value) prints in any script.
"""

from __future__ import annotations

import io
import time

from fpdf import FPDF

from engine.classes import CLASS_LABELS, CLASSES
from engine.clinic.gradcam import overlay
from engine.ml.intended_use import intended_use
from engine.ml.registry import card_summary
from engine.ml.test_time import reading_sentence
from engine.png import png_bytes
from engine.settings import REPO_ROOT

FONT_DIR = REPO_ROOT / "assets" / "fonts"
FONT = "DejaVu"

NOTICE = (
    "Decision support only. This result was produced by a machine-learning model and is not a diagnosis. "
    "The responsible physician reviews the images and decides. The software is not a certified medical device."
)


def intended_use_block(pdf: FPDF, card: dict, top: float = 224) -> None:
    """The model's intended use, above the notice: what it is for, how well it does unseen, what is out of scope."""
    use = intended_use(card)
    pdf.set_y(max(pdf.get_y() + 3, top))
    pdf.set_font(FONT, "B", 8)
    pdf.cell(0, 4, "Intended use", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 7)
    text = f"{use['use']} Trained on {use['trained_on']}. Expected on unseen scans: {use['figures']}. Not for: " + "; ".join(use["out_of_scope"]) + "."
    pdf.multi_cell(0, 3.2, text, new_x="LMARGIN", new_y="NEXT")


def report_pdf(answer, model_card: dict) -> bytes:
    """The report as PDF bytes. ``answer`` is an engine.clinic.classify.Answer with its grey image (and heat map)."""
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    pdf.add_font(FONT, "I", FONT_DIR / "DejaVuSans.ttf")  # no oblique shipped: notes are set smaller instead
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, "Brain MRI classification report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    pdf.cell(0, 5, f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"Image SHA-256: {answer.sha256}", new_x="LMARGIN", new_y="NEXT")
    if getattr(answer, "burned_in_annotation", False):
        pdf.cell(0, 5, "Note: the file states that text is burnt into the image; it may show patient data.", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"Model: {card_summary(model_card)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    y0 = pdf.get_y()
    if answer.grey is not None:
        pdf.image(io.BytesIO(png_bytes(answer.grey.convert("RGB").resize((256, 256)))), x=10, y=y0, w=90, h=90)
        if answer.cam is not None:
            pdf.image(io.BytesIO(png_bytes(overlay(answer.grey.resize((256, 256)), answer.cam))), x=110, y=y0, w=90, h=90)
        pdf.set_xy(10, y0 + 91)
        pdf.set_font(FONT, "I", 8)
        pdf.cell(90, 4, "Scan (as classified; cut out of its frame)" if getattr(answer, "reframed", False) else "Scan (as classified)")
        pdf.set_x(110)
        pdf.cell(90, 4, "Grad-CAM: regions that drove the answer" if answer.cam is not None else "", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(y0 + 100)
    pdf.set_font(FONT, "B", 13)
    if answer.rejected:
        pdf.multi_cell(0, 7, f"Not classified: {answer.reason}", new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.cell(0, 8, f"Result: {CLASS_LABELS[answer.label]}" + ("  (UNCERTAIN - review needed)" if answer.uncertain else ""), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 10)
        for cls in CLASSES:
            p = answer.probabilities[cls]
            pdf.cell(35, 7, CLASS_LABELS[cls])
            pdf.set_fill_color(76, 120, 168)
            pdf.cell(max(0.5, 120 * p), 5, "", fill=True)
            pdf.set_x(170)
            pdf.cell(20, 7, f"{p:.1%}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "I", 8)
        reading = reading_sentence(model_card.get("input", {}))
        pdf.cell(
            0,
            5,
            f"Probabilities calibrated by temperature scaling (T = {model_card.get('temperature', 1):.2f}). {reading}".strip(),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    if answer.technical:
        pdf.ln(2)
        pdf.set_font(FONT, "", 8)
        pdf.multi_cell(0, 4, "Technical: " + ", ".join(f"{k} {v}" for k, v in answer.technical.items()), new_x="LMARGIN", new_y="NEXT")
    intended_use_block(pdf, model_card)
    notice_block(pdf)
    return bytes(pdf.output())


def notice_block(pdf: FPDF) -> None:
    """The decision-support notice at the foot of every page a clinician may print."""
    pdf.set_y(262)
    pdf.set_font(FONT, "B", 9)
    pdf.set_fill_color(255, 243, 205)
    pdf.multi_cell(0, 5, NOTICE, border=1, fill=True)
