"""Every terminal status, the protocol's retry rule, and extraction against a schema."""

from __future__ import annotations

import socket

from tests.fake_llm import Script, ServerError
from tests.integration.test_agent_actions import act, complete

PRODUCTS_SCHEMA = {
    "type": "object",
    "properties": {
        "products": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "price": {"type": "number"},
                    "rating": {"type": "number"},
                },
                "required": ["name", "price", "rating"],
            },
        }
    },
    "required": ["products"],
}
TOP3 = {
    "products": [
        {"name": "Aurora Lamp", "price": 29.99, "rating": 4.5},
        {"name": "Borealis Kettle", "price": 54.0, "rating": 4.1},
        {"name": "Comet Headphones", "price": 119.5, "rating": 4.8},
    ]
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_max_steps_ends_timed_out(embedded, fake_llm, sites):
    fake_llm.script = Script([act({"action_type": "scroll", "direction": "down"})] * 3)
    response = embedded.run(prompt="Scroll forever", url=sites.url("long.html"), max_steps=3)
    assert response.status == "timed_out"
    assert response.step_count == 3
    assert "max_steps (3)" in response.failure_reason
    assert fake_llm.kinds() == ["step"] * 3


def test_unreachable_url_fails_with_the_reason(embedded, fake_llm, sites):
    url = f"http://127.0.0.1:{closed_port()}/"
    response = embedded.run(prompt="Open it", url=url)
    assert response.status == "failed"
    assert response.failure_reason == f"cannot load {url}: ERR_CONNECTION_REFUSED"
    assert fake_llm.calls == []


def test_cancel_is_seen_at_the_next_step(embedded, fake_llm, sites):
    def cancel_then_scroll(call):
        run = embedded.store.list_runs(limit=1)[0]
        assert embedded.store.request_cancel(run.run_id)
        return act({"action_type": "scroll"})

    fake_llm.script = Script([cancel_then_scroll])
    response = embedded.run(prompt="Scroll", url=sites.url("long.html"), max_steps=5)
    assert response.status == "canceled"
    assert response.step_count == 1
    assert response.screenshot_urls  # what was made before the cancel is kept


def test_invalid_json_gets_one_retry(embedded, fake_llm, sites):
    fake_llm.script = Script(["this is not json", complete({"ok": 1})])
    response = embedded.run(prompt="Finish", url=sites.url("products.html"))
    assert response.status == "completed"
    retry = fake_llm.calls[1]
    assert retry.messages[-2] == {"role": "assistant", "content": "this is not json"}
    assert "not valid JSON" in retry.messages[-1]["content"]


def test_invalid_json_twice_fails_the_run(embedded, fake_llm, sites):
    fake_llm.script = Script(["nope", "still nope"])
    response = embedded.run(prompt="Finish", url=sites.url("products.html"))
    assert response.status == "failed"
    assert response.failure_reason.startswith("the model's reply broke the protocol twice: ")
    assert "not valid JSON" in response.failure_reason


def test_unknown_element_id_gets_one_retry_then_fails(embedded, fake_llm, sites):
    fake_llm.script = Script([act({"action_type": "click", "id": "K999"})] * 2)
    response = embedded.run(prompt="Click", url=sites.url("products.html"))
    assert response.status == "failed"
    assert "unknown element id 'K999'" in response.failure_reason
    assert "unknown element id 'K999'" in fake_llm.calls[1].messages[-1]["content"]


def test_unknown_action_type_is_named(embedded, fake_llm, sites):
    fake_llm.script = Script([act({"action_type": "teleport"}), complete()])
    response = embedded.run(prompt="Go", url=sites.url("products.html"))
    assert response.status == "completed"
    assert "unknown action_type 'teleport'" in fake_llm.calls[1].messages[-1]["content"]


def test_model_server_error_fails_the_run(embedded, fake_llm, sites):
    fake_llm.script = Script([ServerError(400, "model not found: fake-model")])
    response = embedded.run(prompt="Go", url=sites.url("products.html"))
    assert response.status == "failed"
    assert response.failure_reason.startswith("model call to openai/fake-model failed")
    assert "model not found" in response.failure_reason


def test_rejected_complete_continues_the_run(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [
            complete(),
            lambda c: act({"action_type": "click", "id": c.id_of("Add to cart")}),
            complete(),
        ],
        verify=[{"user_goal_achieved": False, "reasoning": "the cart is still empty"}],
    )
    response = embedded.run(prompt="Add to cart", url=sites.url("products.html"))
    assert response.status == "completed"
    assert "the cart is still empty" in fake_llm.calls[2].text
    assert fake_llm.kinds() == ["step", "verify", "step", "step", "verify"]


def test_schema_output_from_complete(embedded, fake_llm, sites):
    fake_llm.script = Script([complete(TOP3)])
    response = embedded.run(
        prompt="Extract the name, price and rating of the top 3 products",
        url=sites.url("products.html"),
        data_extraction_schema=PRODUCTS_SCHEMA,
    )
    assert response.status == "completed"
    assert response.output == TOP3
    assert '"price"' in fake_llm.calls[0].text  # the schema is shown to the model


def test_schema_output_from_an_extract_call(embedded, fake_llm, sites):
    fake_llm.script = Script([complete()], extract=[TOP3])
    response = embedded.run(
        prompt="Extract the top 3 products",
        url=sites.url("products.html"),
        data_extraction_schema=PRODUCTS_SCHEMA,
    )
    assert response.status == "completed"
    assert response.output == TOP3
    assert fake_llm.kinds() == ["step", "verify", "extract"]
    assert "Comet Headphones" in fake_llm.calls[2].text


def test_schema_repair_round(embedded, fake_llm, sites):
    bad = {"products": [{"name": "Aurora Lamp", "price": "ask us", "rating": 4.5}]}
    fake_llm.script = Script([complete(bad)], extract=[TOP3])
    response = embedded.run(
        prompt="Extract", url=sites.url("products.html"), data_extraction_schema=PRODUCTS_SCHEMA
    )
    assert response.status == "completed"
    assert response.output == TOP3
    repair = fake_llm.calls[-1].text
    assert "products/0/price: 'ask us' is not of type 'number'" in repair


def test_schema_still_invalid_after_repair_fails(embedded, fake_llm, sites):
    bad = {"products": "none"}
    fake_llm.script = Script([complete(bad)], extract=[bad])
    response = embedded.run(
        prompt="Extract", url=sites.url("products.html"), data_extraction_schema=PRODUCTS_SCHEMA
    )
    assert response.status == "failed"
    assert response.failure_reason == (
        "output does not match data_extraction_schema: products: 'none' is not of type 'array'"
    )
    assert response.output == bad


def test_mapped_error_code_terminates_with_errors(embedded, fake_llm, sites):
    fake_llm.script = Script(
        [{"actions": [], "errors": [{"error_code": "NO_LOGIN", "reasoning": "no login form"}]}]
    )
    response = embedded.run(
        prompt="Log in",
        url=sites.url("products.html"),
        error_code_mapping={"NO_LOGIN": "the page has no login form"},
    )
    assert response.status == "terminated"
    assert response.errors == [{"error_code": "NO_LOGIN", "reasoning": "no login form"}]
    assert response.failure_reason == "error code NO_LOGIN matched: NO_LOGIN: no login form"
    assert "- NO_LOGIN: the page has no login form" in fake_llm.calls[0].text
