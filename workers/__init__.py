"""Celery workers for skyq: the app, the thin tasks and the per-process browser.

Empty until the distributed path lands; the embedded `skyq run` calls
skyq.runner.execute_run in process.
"""
