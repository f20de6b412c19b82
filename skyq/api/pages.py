"""Routes reached by signed links instead of an API key: artifact bytes of the local
store, and the run page behind ``app_url``."""

from __future__ import annotations

import html
import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from skyq.api.auth import State
from skyq.api.state import ApiState
from skyq.errors import RunNotFoundError, StorageError
from skyq.responses import timeline
from skyq.schemas import (
    SCREENSHOT_TYPES,
    ActionRecord,
    LLMUsage,
    RunStatus,
    TaskRunRequest,
    TaskRunResponse,
    TimelineEntry,
)

router = APIRouter()
Expires = Annotated[int, Query()]
Signature = Annotated[str, Query(min_length=8, max_length=128)]


def _check(state: ApiState, value: str, expires: int, signature: str) -> None:
    if not state.signer.verify(value, expires, signature):
        raise HTTPException(403, detail="This link is invalid or has expired")


@router.get("/v1/artifacts/{artifact_id}/content", include_in_schema=False)
def artifact_content(
    artifact_id: str, state: State, expires: Expires, signature: Signature
) -> Response:
    _check(state, artifact_id, expires, signature)
    artifact = state.store.get_artifact(artifact_id)
    if artifact is None:
        raise HTTPException(404, detail="Artifact not found")
    try:
        data = state.artifacts.get(artifact.uri)
    except StorageError:
        raise HTTPException(404, detail="Artifact not found") from None
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"}
    if artifact.artifact_type == "download":
        # A downloaded file is the site's content, not ours: never render it on our origin.
        name = quote(artifact.filename or artifact.artifact_id)
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return Response(
        data, media_type=artifact.content_type or "application/octet-stream", headers=headers
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
def run_page(run_id: str, state: State, expires: Expires, signature: Signature) -> str:
    _check(state, run_id, expires, signature)
    try:
        run = state.store.get_run(run_id)
    except RunNotFoundError:
        raise HTTPException(404, detail="Run not found") from None
    response = state.response(run)
    shots = {
        a.step_id: state.artifact_url(a)
        for a in state.store.artifacts(run_id, [t.value for t in SCREENSHOT_TYPES])
        if a.artifact_type == "screenshot_action"
    }
    return render_run_page(response, timeline(state.store, run_id), shots)


def described(action: ActionRecord) -> str:
    """What an action did, in a few words: the element it named, or for the engines
    that have none, the plan's sub-goals, the point, the keys or the text typed (a
    secret's placeholder, never its value)."""
    p = action.payload
    if action.action_type == "plan":
        goals = " → ".join(str(g) for g in p.get("sub_goals") or [])
        return f"(re-plan {p['replan']}) {goals}" if p.get("replan") else goals
    if action.action_type == "mouse_drag":
        return " → ".join(f"({x}, {y})" for x, y in p.get("path") or [])
    words = []
    if "x" in p and "y" in p:
        words.append(f"at ({p['x']}, {p['y']})")
    if p.get("keys"):
        words.append("+".join(p["keys"]))
    if action.element_id is None and isinstance(p.get("text"), str):
        words.append(json.dumps(p["text"], ensure_ascii=False))
    return " ".join(words) or action.element_text or ""


def render_run_page(
    response: TaskRunResponse, steps: list[TimelineEntry], shots: dict[str | None, str]
) -> str:
    e = html.escape
    live = not RunStatus(response.status).is_final
    rows = []
    for entry in steps:
        actions = "".join(
            f"<li>{e(a.action_type)} {e(described(a))} "
            f"<span class='{e(a.status)}'>{e(a.status)}</span>"
            f"{' — ' + e(a.error) if a.error else ''}</li>"
            for a in entry.actions
        )
        shot = shots.get(entry.step.step_id)
        image = f"<img src='{e(shot)}' alt='step {entry.step.order}'>" if shot else ""
        rows.append(
            f"<section><h3>Step {entry.step.order} <small>{e(entry.step.url or '')} · "
            f"{entry.step.input_tokens + entry.step.output_tokens} tokens · "
            f"${entry.step.llm_cost:.4f}</small></h3>"
            f"<ul>{actions}</ul>{image}</section>"
        )
    output = json.dumps(response.output, indent=2, ensure_ascii=False)
    usage = response.llm_usage or LLMUsage()
    request = response.run_request
    title = response.title or (request.prompt if isinstance(request, TaskRunRequest) else "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{e(response.run_id)} · skyq</title>
{'<meta http-equiv="refresh" content="2">' if live else ""}
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
.status{{font-weight:bold}} .failed{{color:#b00}} .completed{{color:#070}}
img{{max-width:100%;border:1px solid #ccc}} pre{{background:#f4f4f4;padding:1rem}}
</style></head><body>
<h1>{e(title)}</h1>
<p>Run <code>{e(response.run_id)}</code> · status
<span class="status {e(response.status.value)}">{e(response.status.value)}</span>
· {response.step_count or 0} steps
· {usage.input_tokens} tokens in, {usage.output_tokens} out, ${usage.cost:.4f}</p>
{f'<p class="failed">{e(response.failure_reason)}</p>' if response.failure_reason else ""}
<h2>Output</h2><pre>{e(output)}</pre>
<h2>Steps</h2>{"".join(rows) or "<p>No steps yet.</p>"}
</body></html>"""
