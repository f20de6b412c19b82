from skyq.agent import prompts
from skyq.agent.page import Observation, PageNode


def obs(*nodes: PageNode, truncated: bool = False) -> Observation:
    return Observation(
        url="https://shop.test/",
        title="Shop",
        nodes=nodes,
        screenshots=(b"jpg",),
        truncated=truncated,
    )


def test_element_lines_carry_ids_and_attributes():
    node = PageNode(
        kind="element", id="K3", tag="input", attrs={"type": "text", "label": 'Say "hi"'}
    )
    assert prompts.element_line(node) == "<input id=K3 type=text label=\"Say 'hi'\">"
    select = PageNode(kind="element", id="K4", tag="select", options=("S", "M"))
    assert prompts.element_line(select) == "<select id=K4>options: S | M</select>"


def test_listing_is_capped():
    nodes = tuple(PageNode(kind="text", text="x" * 50) for _ in range(100))
    listing = prompts.page_listing(obs(*nodes), max_chars=500)
    assert len(listing) < 600
    assert listing.endswith("[listing cut here: page too large]")


def test_step_messages_have_the_kind_marker_task_schema_and_codes():
    messages = prompts.step_messages(
        prompts.TaskBrief("Buy it", {"type": "object"}, {"SOLD_OUT": "the item is sold out"}),
        obs(PageNode(kind="element", id="K1", tag="button", text="Buy")),
        [prompts.HistoryEntry(1, "click", "K1", "Buy", "", ok=False, error="covered")],
        max_chars=10_000,
        screenshots=True,
    )
    assert messages[0]["content"].startswith("skyq-request: step")
    text = messages[1]["content"][0]["text"]
    assert "TASK: Buy it" in text and '"type": "object"' in text
    assert "- SOLD_OUT: the item is sold out" in text
    assert "<button id=K1>Buy</button>" in text
    assert 'step 1: click K1 "Buy" -> FAILED: covered' in text
    assert messages[1]["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_verify_shows_history_only_when_asked():
    history = [prompts.HistoryEntry(1, "click", "K1", "Buy", "", ok=True)]
    brief = prompts.TaskBrief("Buy it")
    page = obs()
    without = prompts.verify_messages(brief, page, None, max_chars=1000, screenshots=False)
    with_history = prompts.verify_messages(brief, page, history, max_chars=1000, screenshots=False)
    assert "ACTIONS SO FAR" not in without[1]["content"]
    assert 'step 1: click K1 "Buy" -> ok' in with_history[1]["content"]


def test_stored_requests_leave_images_out():
    messages = prompts.step_messages(
        prompts.TaskBrief("x"), obs(), [], max_chars=100, screenshots=True
    )
    stored = prompts.loggable(messages)
    assert "data:image" not in str(stored)
