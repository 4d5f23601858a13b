"""Throw-away local services for development, tests and benchmarks: the embedded Elasticsearch (one node,
``node.py``; a local cluster, ``cluster.py``; the launcher both are built from, ``launcher.py``) and a
PostgreSQL server (``postgres.py``). Only the command line, tests and benchmarks use it."""
