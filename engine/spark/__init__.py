"""Spark: the session factory, the standalone cluster, and live job progress from the status tracker."""
