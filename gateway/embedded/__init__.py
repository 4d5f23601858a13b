"""Throw-away local services for development, tests and benchmarks: a PostgreSQL server (``postgres.py``)."""
