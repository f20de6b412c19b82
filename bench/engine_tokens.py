"""python -m bench.engine_tokens: what a step costs on each engine, in input tokens.

Each engine runs the same task on each of three fixture sites (three scrolls, then the
end) against the scripted model server: a small shop, a form and a long article, since
the skyvern engines' element listing grows with the page and the screen engines' turns
do not. The requests skyq sent are priced the way each provider counts them: text at
4 characters a token; a screenshot by the provider's published rule (OpenAI high
detail: 85 + 170 per 512px tile after scaling to 768px on the short side; Anthropic:
width x height / 750; Qwen2.5-VL, which UI-TARS is: one token per 28x28 patch of the
smart-resized picture). openai-cua keeps its conversation on OpenAI's side, which bills
each turn for all of it: its turns are priced with everything sent before them. Output
tokens are left out: the scripted replies say nothing about a real model's.
"""

from __future__ import annotations

import base64
import io
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from skyq.agent.ui_tars import smart_resize
from skyq.bootstrap import open_run_store
from skyq.browser import BrowserRoom
from skyq.config import Settings
from skyq.loop_thread import LoopThread
from skyq.runner import RunServices, browser_options, execute_run
from skyq.schemas import TaskRunRequest
from skyq.storage import open_artifact_store
from tests.conftest import make_settings
from tests.fake_llm import Call, FakeLLM, Script
from tests.sites.server import FixtureSites

ENGINES = ("skyvern-1.0", "skyvern-2.0", "openai-cua", "anthropic-cua", "ui-tars")
SITES = ("products.html", "form.html", "long.html")
SCROLLS = 3


def image_tokens(data: bytes, family: str) -> int:
    width, height = Image.open(io.BytesIO(data)).size
    if family == "anthropic":
        return math.ceil(width * height / 750)
    if family == "qwen":
        h, w = smart_resize(height, width)
        return (h // 28) * (w // 28)
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = min(1.0, 768 / min(width, height))
    tiles = math.ceil(width * scale / 512) * math.ceil(height * scale / 512)
    return 85 + 170 * tiles


def priced(value: Any, family: str) -> int:
    """Input tokens of a request body: its text, and its pictures by the family's rule."""
    if isinstance(value, dict):
        if value.get("type") == "base64" and "data" in value:
            return image_tokens(base64.b64decode(value["data"]), family)
        return sum(priced(v, family) for k, v in value.items() if k not in ("model", "tools"))
    if isinstance(value, list):
        return sum(priced(v, family) for v in value)
    if isinstance(value, str):
        if value.startswith("data:image/"):
            return image_tokens(base64.b64decode(value.split(",", 1)[1]), family)
        return math.ceil(len(value) / 4)
    return 0


def _family(call: Call) -> str:
    return {"anthropic-cua": "anthropic", "ui-tars": "qwen"}.get(call.kind, "openai")


def replies(engine: str) -> Script:
    if engine.startswith("skyvern"):
        scroll = {"actions": [{"action_type": "scroll", "direction": "down"}]}
        return Script(steps=[scroll] * SCROLLS + [{"actions": [{"action_type": "complete"}]}])
    if engine == "openai-cua":
        act: Any = [
            {
                "type": "computer_call",
                "action": {"type": "scroll", "x": 600, "y": 400, "scroll_x": 0, "scroll_y": 400},
            }
        ]
        end: Any = [{"type": "message", "content": [{"type": "output_text", "text": "Done."}]}]
    elif engine == "anthropic-cua":
        act = [
            {
                "type": "tool_use",
                "name": "computer",
                "input": {"action": "scroll", "coordinate": [600, 400], "scroll_direction": "down"},
            }
        ]
        end = [{"type": "text", "text": "Done."}]
    else:
        act = "Thought: scroll on.\nAction: scroll(start_box='(600,400)', direction='down')"
        end = "Thought: done.\nAction: finished(content='Done.')"
    return Script(screen=[act] * SCROLLS + [end])


def measure(
    engine: str,
    fake: FakeLLM,
    sites: FixtureSites,
    room: BrowserRoom,
    loop: LoopThread,
    page: str = SITES[0],
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        settings = make_settings(Path(home), fake.url)
        store = open_run_store(settings)
        services = RunServices(
            settings=settings, store=store, artifacts=open_artifact_store(settings), room=room
        )
        fake.reset(replies(engine))
        row = store.create_run(
            store.ensure_organization("bench"),
            TaskRunRequest(
                prompt="Scroll through the page, then stop",
                url=sites.url(page),
                engine=engine,
            ),
        )
        response = loop.run(execute_run(row.run_id, services), timeout=120)
        if fake.errors or response.status != "completed":
            raise RuntimeError(
                f"{engine}: {response.status} {response.failure_reason} {fake.errors}"
            )
        sent = [(c, priced(c.body, _family(c))) for c in fake.calls]
        if engine == "openai-cua":  # each turn is billed for the whole conversation so far
            running, billed = 0, []
            for call, tokens in sent:
                if call.kind == "openai-cua":  # the text model's calls are not in it
                    running += tokens
                    tokens = running
                billed.append((call, tokens))
            sent = billed
        turns = [t for c, t in sent if c.kind not in ("plan", "verify", "extract")]
        return {
            "engine": engine,
            "page": page,
            "steps": response.step_count,
            "calls": len(sent),
            "first_turn": turns[0],
            "last_turn": turns[-1],
            "per_step": round(sum(t for _, t in sent) / max(response.step_count or 1, 1)),
            "run": sum(t for _, t in sent),
        }


def main() -> int:
    fake, sites, loop = FakeLLM(), FixtureSites(), LoopThread("bench-tokens")
    room = BrowserRoom(browser_options(Settings()))
    try:
        rows = [
            measure(engine, fake, sites, room, loop, page) for page in SITES for engine in ENGINES
        ]
    finally:
        loop.run(room.close(), timeout=30)
        loop.stop()
        fake.close()
        sites.close()
    for page in SITES:
        print(f"\n{page}\n")
        print("| engine | steps | model calls | first turn | last turn | per step | whole run |")
        print("|---|---|---|---|---|---|---|")
        for r in (r for r in rows if r["page"] == page):
            print(
                f"| {r['engine']} | {r['steps']} | {r['calls']} | {r['first_turn']:,} | "
                f"{r['last_turn']:,} | {r['per_step']:,} | {r['run']:,} |"
            )
    json.dump(rows, sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
