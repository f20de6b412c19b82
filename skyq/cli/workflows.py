"""`skyq workflows`: the published workflows in the store, their code, and edits."""

from __future__ import annotations

from pathlib import Path

import click

from skyq.bootstrap import open_run_store
from skyq.cli.main import cli, load_settings
from skyq.db.workflow_store import WorkflowStore
from skyq.workflows.script import parse_script


@cli.group()
def workflows() -> None:
    """Published workflows (publish_workflow=True) and their code."""


@workflows.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def workflows_list(limit: int) -> None:
    """The newest workflows, one a line."""
    store = WorkflowStore(open_run_store(load_settings()))
    for row in store.list(None, limit=limit):
        title = " ".join(row.title.split())
        click.echo(
            f"{row.workflow_permanent_id}  rev {row.latest_revision:<3} "
            f"{row.modified_at:%Y-%m-%d %H:%M:%S}  {title[:60]}"
        )


@workflows.command("show")
@click.argument("workflow_id")
@click.option("--revision", type=click.IntRange(1), help="A revision (default: the latest).")
def workflows_show(workflow_id: str, revision: int | None) -> None:
    """A workflow's code (stdout) and its revisions (stderr)."""
    store = WorkflowStore(open_run_store(load_settings()))
    store.get(workflow_id)
    shown = store.revision(workflow_id, revision)
    for row in store.revisions(workflow_id):
        mark = "*" if row.revision == shown.revision else " "
        click.echo(
            f"{mark} rev {row.revision:<3} {row.origin:<11} {row.created_at:%Y-%m-%d %H:%M:%S}"
            f"  {row.source_run_id or ''}",
            err=True,
        )
    click.echo(shown.code, nl=False)


@workflows.command("edit")
@click.argument("workflow_id")
@click.argument("code_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def workflows_edit(workflow_id: str, code_file: Path) -> None:
    """Store CODE_FILE as the workflow's next revision (refused, with the line, when skyq
    would not run it)."""
    store = WorkflowStore(open_run_store(load_settings()))
    store.get(workflow_id)
    code = code_file.read_text()
    parse_script(code)
    revision = store.add_revision(workflow_id, code, "edited")
    click.echo(f"{workflow_id} revision {revision.revision} ({revision.script_revision_id})")
