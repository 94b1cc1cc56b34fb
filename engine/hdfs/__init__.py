"""HDFS: the local daemons (start, stop, status), their site configuration, and storage through WebHDFS."""
