"""Each agent action, end to end: scripted model -> litellm -> real Chromium -> fixture page.

A test's evidence is what the page shows afterwards, read from the next request the
model received (what a real model would have seen)."""

from __future__ import annotations

from tests.fake_llm import Script


def act(action: dict, **fields: object) -> dict:
    return {"actions": [{**action, **fields}]}


def complete(data: object = None) -> dict:
    return {"actions": [{"action_type": "complete", "data": data}]}


def test_click(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [
            lambda c: act({"action_type": "click", "id": c.id_of("Add to cart")}),
            complete(),
        ]
    )
    response = embedded.run(
        prompt="Add the first product to the cart", url=sites.url("products.html")
    )
    assert response.status == "completed"
    assert "Cart: 0 items" in fake_llm.calls[0].text
    assert "Cart: 1 item" in fake_llm.calls[1].text


def test_input_text_select_option_checkbox_and_submit(embedded, fake_llm, sites):
    def fill(call):
        return {
            "actions": [
                {
                    "action_type": "input_text",
                    "id": call.id_of('label="Full name"'),
                    "text": "Ada Lovelace",
                },
                {
                    "action_type": "input_text",
                    "id": call.id_of("label=Email"),
                    "text": "ada@example.com",
                },
                {"action_type": "select_option", "id": call.id_of("<select"), "option": "Medium"},
                {"action_type": "click", "id": call.id_of("newsletter")},
                {"action_type": "click", "id": call.id_of("Place order")},
            ]
        }

    fake_llm.script = Script([fill, complete({"done": True})])
    response = embedded.run(prompt="Order a medium shirt for Ada", url=sites.url("form.html"))
    assert response.status == "completed", response.failure_reason
    seen = fake_llm.calls[1].text
    assert "Thanks, Ada Lovelace! Email: ada@example.com. Size: m. Newsletter: yes." in seen
    assert "selected=Medium" in seen
    actions = embedded.store.actions(response.run_id)
    assert [a.action_type for a in actions] == [
        "input_text",
        "input_text",
        "select_option",
        "click",
        "click",
        "complete",
    ]
    assert all(a.status == "completed" for a in actions)


def test_select_option_that_does_not_exist_is_reported_to_the_model(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [
            lambda c: act(
                {"action_type": "select_option", "id": c.id_of("<select"), "option": "XXL"}
            ),
            complete(),
        ]
    )
    response = embedded.run(prompt="Pick XXL", url=sites.url("form.html"))
    assert response.status == "completed"
    assert "select_option" in fake_llm.calls[1].text
    assert "FAILED: " in fake_llm.calls[1].text and "has no option 'XXL'" in fake_llm.calls[1].text


def test_scroll(embedded, fake_llm, sites):
    fake_llm.script = Script([act({"action_type": "scroll", "direction": "down"}), complete()])
    response = embedded.run(prompt="Read further down", url=sites.url("long.html"))
    assert response.status == "completed"
    assert "SCROLL: 0px" in fake_llm.calls[0].text
    assert "SCROLL: 0px" not in fake_llm.calls[1].text


def test_scroll_to_element(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [lambda c: act({"action_type": "scroll", "id": c.id_of("Bottom button")}), complete()]
    )
    embedded.run(prompt="Find the bottom button", url=sites.url("long.html"))
    scroll_line = next(
        line for line in fake_llm.calls[1].text.splitlines() if line.startswith("SCROLL:")
    )
    assert int(scroll_line.split()[1].removesuffix("px")) > 1000


def test_keypress(embedded, fake_llm, sites):
    def search(call):
        box = call.id_of("Search the catalogue")
        return {
            "actions": [
                {"action_type": "input_text", "id": box, "text": "lamp"},
                {"action_type": "keypress", "id": box, "keys": "Enter"},
            ]
        }

    fake_llm.script = Script([search, complete()])
    response = embedded.run(prompt="Search for lamp", url=sites.url("search.html"))
    assert response.status == "completed"
    assert "3 results for lamp" in fake_llm.calls[1].text


def test_goto(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [act({"action_type": "goto", "url": sites.url("products.html")}), complete()]
    )
    response = embedded.run(prompt="Go to the store", url=sites.url("search.html"))
    assert response.status == "completed"
    assert f"CURRENT PAGE: {sites.url('products.html')}" in fake_llm.calls[1].text


def test_goto_refuses_non_http_schemes(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [act({"action_type": "goto", "url": "file:///etc/passwd"}), complete()]
    )
    response = embedded.run(prompt="Read a file", url=sites.url("search.html"))
    assert "scheme 'file' is not allowed" in fake_llm.calls[1].text
    assert "root:x:0:0" not in fake_llm.calls[1].text
    assert response.status == "completed"


def test_wait(embedded, fake_llm, sites):
    fake_llm.script = Script([act({"action_type": "wait", "seconds": 2}), complete()])
    response = embedded.run(prompt="Open the report", url=sites.url("delayed.html"))
    assert response.status == "completed"
    assert "Loading…" in fake_llm.calls[0].text and "Open report" not in fake_llm.calls[0].text
    assert "Dashboard ready" in fake_llm.calls[1].text
    assert "<button id=K" in fake_llm.calls[1].text


def test_complete_returns_the_data(embedded, fake_llm, sites):
    data = [{"name": "Aurora Lamp", "price": 29.99, "rating": 4.5}]
    fake_llm.script = Script([complete(data)])
    response = embedded.run(prompt="Extract the first product", url=sites.url("products.html"))
    assert response.status == "completed"
    assert response.output == data
    assert response.step_count == 1
    assert fake_llm.kinds() == ["step", "verify"]


def test_terminate(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [act({"action_type": "terminate", "reasoning": "There is no login form on this page"})]
    )
    response = embedded.run(prompt="Log in", url=sites.url("products.html"))
    assert response.status == "terminated"
    assert response.failure_reason == "There is no login form on this page"


def test_several_actions_stop_after_a_navigation(embedded, fake_llm, sites):
    def plan(call):
        return {
            "actions": [
                {"action_type": "click", "id": call.id_of("Contact us")},
                {"action_type": "click", "id": call.id_of("Add to cart")},
            ]
        }

    fake_llm.script = Script([plan, complete()])
    response = embedded.run(prompt="Go to the contact page", url=sites.url("products.html"))
    assert response.status == "completed"
    assert [a.action_type for a in embedded.store.actions(response.run_id)] == ["click", "complete"]
    assert "Order a T-shirt" in fake_llm.calls[1].text
