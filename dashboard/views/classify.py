"""Classify page (not built yet): says so plainly and what it will do."""

import streamlit as st

from dashboard.ui import not_built_yet

st.title("Classify")
not_built_yet("Upload a JPEG, PNG or DICOM scan and get the predicted class, calibrated probabilities, a Grad-CAM heat map and a PDF report.", "python -m engine classify FILE")
