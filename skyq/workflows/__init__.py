"""Workflows as code: a run's action record turned into Python Playwright code
(``codegen``), that code read back and checked (``script``) so that skyq can run it
without a model, and the stored revisions (``skyq.db.workflow_store``)."""
