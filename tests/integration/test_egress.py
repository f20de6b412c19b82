"""The egress guard end to end: a page on an allowed origin tries every way a browser
has of reaching another address; a canary listener on 127.0.0.2 must see nothing."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.canary import Canary
from tests.fake_llm import Script
from tests.integration.test_agent_actions import act, complete


@pytest.fixture
def canary():
    listener = Canary()
    yield listener
    listener.close()


def test_nothing_on_the_page_reaches_a_non_public_address(embedded, fake_llm, sites, canary):
    fake_llm.script = Script([act({"action_type": "wait", "seconds": 2}), complete()])
    response = embedded.run(
        prompt="Look", url=sites.url(f"egress.html?c={quote(canary.url)}"), max_steps=3
    )
    assert response.status == "completed", response.failure_reason
    assert "Fired" in fake_llm.calls[1].text  # the page itself loaded and ran
    assert canary.hits == []


@pytest.mark.parametrize(
    "start",
    [
        "{canary}/",
        "http://2130706434:{port}/",  # 127.0.0.2 written as one number
        "http://0x7f000002:{port}/",
        "{site}redirect?to={canary}/",
    ],
)
def test_a_start_url_that_leads_to_a_non_public_address_fails(
    embedded, fake_llm, sites, canary, start
):
    url = start.format(canary=canary.url, port=canary.port, site=sites.url(""))
    response = embedded.run(prompt="Open it", url=url)
    assert response.status == "failed"
    assert "blocked by the egress policy" in response.failure_reason
    assert canary.hits == []
    assert fake_llm.calls == []


def test_a_goto_to_a_non_public_address_is_refused(embedded, fake_llm, sites, canary):
    fake_llm.script = Script([act({"action_type": "goto", "url": canary.url}), complete()])
    embedded.run(prompt="Go", url=sites.url("products.html"))
    assert "blocked by the egress policy" in fake_llm.calls[1].text
    assert canary.hits == []


def test_control_the_canary_counts_what_is_allowed(embedded, fake_llm, sites, canary):
    """Without this, a canary that could never be reached would pass the tests above."""
    embedded.services.settings = embedded.settings.model_copy(
        update={"egress_allow": ["127.0.0.1", "127.0.0.2"]}
    )
    fake_llm.script = Script([act({"action_type": "wait", "seconds": 2}), complete()])
    embedded.run(prompt="Look", url=sites.url(f"egress.html?c={quote(canary.url)}"), max_steps=3)
    assert len(canary.hits) >= 5


def test_webhooks_totp_urls_and_upload_fetches_are_held_to_the_same_policy(
    embedded, fake_llm, sites, canary
):
    from skyq.links import Links
    from skyq.webhooks import WebhookSender

    def upload_then_code(call):
        return {
            "actions": [
                {
                    "action_type": "upload_file",
                    "id": call.id_of("type=file"),
                    "file_url": f"{canary.url}/secret.csv",
                },
            ]
        }

    def enter_code(call):
        return act(
            {
                "action_type": "input_text",
                "id": call.id_of("type=file"),
                "text": "{{verification_code}}",
            }
        )

    fake_llm.script = Script([upload_then_code, enter_code, complete()])
    response = embedded.run(
        prompt="Upload",
        url=sites.url("upload.html"),
        webhook_url=f"{canary.url}/hook",
        totp_url=f"{canary.url}/totp",
    )
    assert "file_url is blocked by the egress policy" in fake_llm.calls[1].text
    assert "totp_url is blocked by the egress policy" in fake_llm.calls[2].text

    sender = WebhookSender(
        embedded.settings,
        embedded.store,
        Links.from_settings(embedded.settings, embedded.artifacts),
    )
    outcome = sender.attempt(response.run_id, 1)
    assert not outcome.delivered
    assert outcome.error.startswith("blocked by the egress policy")
    (delivery,) = embedded.store.deliveries(response.run_id)
    assert delivery.status_code is None and "egress" in delivery.error
    assert canary.hits == []
