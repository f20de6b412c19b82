"""Pages that are hard to see into: iframes, shadow roots, pages that never finish loading,
and content spread over several pages."""

from __future__ import annotations

from tests.fake_llm import Script
from tests.integration.test_agent_actions import act, complete


def test_button_inside_an_iframe(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [lambda c: act({"action_type": "click", "id": c.id_of("Confirm payment")}), complete()]
    )
    response = embedded.run(prompt="Confirm the payment", url=sites.url("iframe.html"))
    assert response.status == "completed"
    first = fake_llm.calls[0].text
    assert "--- iframe " in first and "frame-inner.html" in first
    assert "Awaiting confirmation" in first
    assert "Payment confirmed" in fake_llm.calls[1].text


def test_button_inside_a_shadow_root(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [lambda c: act({"action_type": "click", "id": c.id_of("Enable dark mode")}), complete()]
    )
    response = embedded.run(prompt="Turn on dark mode", url=sites.url("shadow.html"))
    assert response.status == "completed"
    assert "Dark mode is off" in fake_llm.calls[0].text
    assert "Dark mode is on" in fake_llm.calls[1].text


def test_page_that_never_finishes_loading_is_used_as_far_as_it_rendered(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [lambda c: act({"action_type": "click", "id": c.id_of("Continue anyway")}), complete()]
    )
    response = embedded.run(prompt="Continue", url=sites.url("never-loads"))
    assert response.status == "completed", response.failure_reason
    assert "Partial page" in fake_llm.calls[0].text
    assert ">Continued</button>" in fake_llm.calls[1].text


def test_table_over_three_pages(embedded, fake_llm, sites):
    seen: list[str] = []

    def next_page(call):
        seen.extend(line for line in call.text.splitlines() if line.startswith("City "))
        return act({"action_type": "click", "id": call.id_of(">Next<")})

    def finish(call):
        seen.extend(line for line in call.text.splitlines() if line.startswith("City "))
        return complete({"cities": seen})

    fake_llm.script = Script([next_page, next_page, finish])
    response = embedded.run(prompt="List every city in the table", url=sites.url("table/1.html"))
    assert response.status == "completed"
    assert response.output == {"cities": [f"City {i}" for i in range(1, 13)]}
    assert response.step_count == 3


def test_element_ids_stay_the_same_across_steps(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [lambda c: act({"action_type": "click", "id": c.id_of("Add to cart")}), complete()]
    )
    embedded.run(prompt="Add to cart", url=sites.url("products.html"))
    first, second = fake_llm.calls[0], fake_llm.calls[1]
    assert first.id_of("Contact us") == second.id_of("Contact us")
