"""Pages that fight back: each ends its step in bounded time with a reason, and the
browser is ready for the next run."""

from __future__ import annotations

import contextlib

from tests.fake_llm import Script
from tests.integration.test_agent_actions import act, complete


def test_dialogs_are_dismissed_and_the_run_goes_on(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [lambda c: act({"action_type": "click", "id": c.id_of("Delete everything")}), complete()]
    )
    response = embedded.run(prompt="Delete", url=sites.url("dialogs.html"))
    assert response.status == "completed"
    assert "Dismissed" in fake_llm.calls[1].text


def test_a_page_stuck_in_a_loop_fails_the_run_and_the_next_run_works(embedded, fake_llm, sites):
    embedded.services.settings = embedded.settings.model_copy(update={"action_timeout_seconds": 1})
    fake_llm.script = Script(
        [lambda c: act({"action_type": "click", "id": c.id_of("Freeze")}), complete()]
    )
    frozen = embedded.run(prompt="Freeze it", url=sites.url("jsloop.html"))
    assert frozen.status == "failed"
    assert "did not answer" in frozen.failure_reason
    fake_llm.reset(Script([complete({"ok": True})]))
    after = embedded.run(prompt="Next", url=sites.url("products.html"))
    assert after.status == "completed"


def test_a_huge_page_is_capped_before_it_reaches_the_model(embedded, fake_llm, sites):
    embedded.services.settings = embedded.settings.model_copy(
        update={"max_elements_in_prompt": 500, "max_text_chars_in_prompt": 20_000}
    )
    fake_llm.script = Script([complete()])
    response = embedded.run(prompt="Look", url=sites.url("huge.html"))
    assert response.status == "completed"
    text = fake_llm.calls[0].text
    assert "[listing cut here: page too large]" in text
    assert len(text) < 25_000
    assert text.count("<a id=") <= 500


def test_a_redirect_loop_is_classified(embedded, fake_llm, sites):
    response = embedded.run(prompt="Open", url=sites.url("loop302"))
    assert response.status == "failed"
    assert response.failure_reason.endswith("ERR_TOO_MANY_REDIRECTS")


def test_endless_and_oversized_downloads_are_dropped_not_waited_for(embedded, fake_llm, sites):
    embedded.services.settings = embedded.settings.model_copy(
        update={"download_timeout_seconds": 1, "max_file_bytes": 10}
    )

    def both(call):
        return {
            "actions": [
                {"action_type": "click", "id": call.id_of("Download the live feed")},
                {"action_type": "click", "id": call.id_of("Download the city report")},
            ]
        }

    fake_llm.script = Script([both, complete()])
    response = embedded.run(prompt="Download", url=sites.url("downloads.html"))
    assert response.status == "completed"
    # The endless one timed out and the 42-byte report is over the 10-byte cap.
    assert response.downloaded_files == []
    assert embedded.store.artifacts(response.run_id, ["download"]) == []


def test_a_page_that_reloads_forever_is_classified(embedded, fake_llm, sites):
    fake_llm.script = Script([act({"action_type": "wait", "seconds": 1}), complete()])
    response = embedded.run(prompt="Read it", url=sites.url("refresh-loop.html"), max_steps=3)
    assert response.status == "failed"
    assert response.failure_reason == "the page keeps navigating (a refresh or redirect loop)"


def test_a_renderer_crash_fails_the_run_with_the_reason_and_the_next_run_works(
    embedded, fake_llm, sites, room, loop
):
    import asyncio

    async def crash_the_page() -> None:
        browser = await room.browser()
        page = browser.contexts[-1].pages[0]
        session = await page.context.new_cdp_session(page)
        with contextlib.suppress(Exception):  # the renderer dies before it answers
            await asyncio.wait_for(session.send("Page.crash"), 2)

    def crash_then_click(call):
        asyncio.run_coroutine_threadsafe(crash_the_page(), loop.loop).result(10)
        return act({"action_type": "click", "id": call.id_of("Add to cart")})

    fake_llm.script = Script([crash_then_click, complete()])
    crashed = embedded.run(prompt="Add to cart", url=sites.url("products.html"), max_steps=3)
    assert crashed.status == "failed"
    assert crashed.failure_reason == "the page crashed (its renderer process died)"
    fake_llm.reset(Script([complete()]))
    assert embedded.run(prompt="Again", url=sites.url("products.html")).status == "completed"


def test_text_does_not_crowd_the_controls_out_of_the_element_cap(embedded, fake_llm, sites):
    """120 paragraphs stand before the page's one button: the element cap counts
    elements, so a cap of 5 still lists the button (text has its own budget)."""
    embedded.services.settings = embedded.settings.model_copy(update={"max_elements_in_prompt": 5})
    fake_llm.script = Script([complete()])
    response = embedded.run(prompt="Look", url=sites.url("long.html"))
    assert response.status == "completed"
    text = fake_llm.calls[0].text
    assert "Paragraph 120 of filler text" in text
    assert ">Bottom button</button>" in text
