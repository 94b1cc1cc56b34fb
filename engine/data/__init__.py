"""Datasets: layout on HDFS, image checks, ingest, duplicate audit, statistics, pixel preparation, preprocessing."""
