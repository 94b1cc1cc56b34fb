"""The Streamlit dashboard: pages lay out and call the engine; no Spark, HDFS or model logic here."""
