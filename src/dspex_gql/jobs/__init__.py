"""Runs as procrastinate jobs (`DSPEX_JOBS=procrastinate`, PostgreSQL only): enqueue and cancel
inside our own transaction (`queue`), the worker's app (`app`), and the sweep that requeues a dead
worker's jobs (`stalled`). Only `app` and `stalled` import procrastinate (an optional extra)."""
