"""A clinician's answer: bounded scan reading, the gate, classification, Grad-CAM, the answer log, the PDF report."""
