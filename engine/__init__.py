"""The brain-MRI pipeline engine: HDFS storage, Spark processing, training and classification.

Never imports Streamlit; the dashboard and the CLI both call into it.
"""
