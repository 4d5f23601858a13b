"""The embedded Elasticsearch for local runs: one node (``node.py``), a local cluster (``cluster.py``), and
the launcher both are built from (``launcher.py``). Only the command line, tests and benchmarks use it."""
