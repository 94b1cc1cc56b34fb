"""Train page (not built yet): says so plainly and what it will do."""

import streamlit as st

from dashboard.ui import not_built_yet

st.title("Train")
not_built_yet("Training a Keras classifier locally or distributed with Elephas on Spark, with live loss and accuracy curves.", "python -m engine train N")
