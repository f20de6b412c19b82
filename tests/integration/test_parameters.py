"""Each run_task parameter has an effect a fixture site (or the model) can observe."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

from skyq.schema_registry import SchemaRegistry
from skyq.schemas import TaskRunRequest
from tests.fake_llm import Script
from tests.integration.test_agent_actions import act, complete
from tests.integration.test_agent_outcomes import PRODUCTS_SCHEMA


def test_user_agent_and_extra_headers_reach_every_request(embedded, fake_llm, sites):
    fake_llm.script = Script([complete()])
    sites.requests.clear()
    response = embedded.run(
        prompt="Look",
        url=sites.url("assets.html"),
        user_agent="skyq-test-agent/2.0",
        extra_http_headers={"X-Tenant": "tenant-7"},
    )
    assert response.status == "completed"
    paths = {r.path for r in sites.requests}
    assert {"/assets.html", "/assets/style.css", "/assets/app.js", "/assets/pixel.svg"} <= paths
    for seen in sites.requests:
        assert seen.headers.get("User-Agent") == "skyq-test-agent/2.0", seen.path
        assert seen.headers.get("X-Tenant") == "tenant-7", seen.path
    assert "JavaScript ran" in fake_llm.calls[0].text


def test_numbers_written_as_text_become_numbers(embedded, fake_llm, sites):
    as_text = {"products": [{"name": "Aurora Lamp", "price": "$29.99", "rating": "4.5 stars"}]}
    fake_llm.script = Script([complete(as_text)])
    response = embedded.run(
        prompt="Extract", url=sites.url("products.html"), data_extraction_schema=PRODUCTS_SCHEMA
    )
    assert response.status == "completed"
    assert response.output == {"products": [{"name": "Aurora Lamp", "price": 29.99, "rating": 4.5}]}
    assert fake_llm.kinds() == ["step", "verify"]  # no repair round was needed


def test_missing_values_may_be_null_where_the_schema_allows(embedded, fake_llm, sites):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "discount": {"type": ["number", "null"]}},
        "required": ["name", "discount"],
    }
    fake_llm.script = Script([complete({"name": "Aurora Lamp", "discount": None})])
    response = embedded.run(
        prompt="x", url=sites.url("products.html"), data_extraction_schema=schema
    )
    assert response.status == "completed" and response.output["discount"] is None


def test_a_registered_model_name_is_a_schema():
    class Product(BaseModel):
        name: str
        price: float

    registry = SchemaRegistry()
    registry.register(Product)
    request = registry.resolve(TaskRunRequest(prompt="x", data_extraction_schema="Product"))
    assert request.data_extraction_schema["properties"]["price"]["type"] == "number"


def test_include_action_history_in_verification(embedded, fake_llm, sites):
    def run(flag: bool) -> str:
        fake_llm.reset(
            Script(
                [lambda c: act({"action_type": "click", "id": c.id_of("Add to cart")}), complete()]
            )
        )
        response = embedded.run(
            prompt="Add to cart",
            url=sites.url("products.html"),
            include_action_history_in_verification=flag,
        )
        stored = [
            a
            for a in embedded.store.artifacts(response.run_id, ["llm_request"])
            if b"skyq-request: verify" in embedded.artifacts.get(a.uri)
        ]
        assert len(stored) == 1
        return json.loads(embedded.artifacts.get(stored[0].uri))["messages"][1]["content"][0][
            "text"
        ]

    assert 'step 1: click K1 "Add to cart" -> ok' in run(True)
    assert "ACTIONS SO FAR" not in run(False)


def test_max_screenshot_scrolls_stores_them_and_scrolls_back(embedded, fake_llm, sites):
    fake_llm.script = Script([act({"action_type": "wait", "seconds": 0.1}), complete()])
    response = embedded.run(prompt="Look", url=sites.url("long.html"), max_screenshot_scrolls=2)
    first_step = embedded.store.steps(response.run_id)[0]
    shots = [
        a
        for a in embedded.store.artifacts(response.run_id, ["screenshot_llm"])
        if a.step_id == first_step.step_id
    ]
    assert len(shots) == 3
    assert len({a.checksum for a in shots}) == 3, "each scrolled screenshot shows another part"
    assert "SCROLL: 0px" in fake_llm.calls[1].text  # the page was scrolled back
    assert response.max_screenshot_scrolls == 2


def test_error_code_mapping_on_an_out_of_stock_page(embedded, fake_llm, sites):
    def check(call):
        assert "- OUT_OF_STOCK: the product is out of stock" in call.text
        holds = "Out of stock" in call.text
        return (
            {"actions": [], "errors": [{"error_code": "OUT_OF_STOCK", "reasoning": "page says so"}]}
            if holds
            else complete()
        )

    fake_llm.script = Script([check])
    response = embedded.run(
        prompt="Buy the headphones",
        url=sites.url("out-of-stock.html"),
        error_code_mapping={"OUT_OF_STOCK": "the product is out of stock"},
    )
    assert response.status == "terminated"
    assert response.errors == [{"error_code": "OUT_OF_STOCK", "reasoning": "page says so"}]
    assert "OUT_OF_STOCK" in response.failure_reason


def test_run_time_limit_ends_timed_out(embedded, fake_llm, sites):
    embedded.services.settings = embedded.settings.model_copy(update={"run_timeout_seconds": 1})
    fake_llm.script = Script([act({"action_type": "wait", "seconds": 1.5})])
    response = embedded.run(prompt="Wait", url=sites.url("products.html"), max_steps=5)
    assert response.status == "timed_out"
    assert response.failure_reason == "run time limit (1s) reached"
    assert response.step_count == 1


def test_title_and_per_run_model(embedded, fake_llm, sites):
    fake_llm.script = Script([complete()])
    response = embedded.run(
        prompt="x",
        url=sites.url("products.html"),
        title="Nightly check",
        model={"model_name": "another-model"},
    )
    assert response.title == "Nightly check"
    assert {c.body["model"] for c in fake_llm.calls} == {"another-model"}
    assert response.run_request.model == {"model_name": "another-model"}


def test_tokens_and_cost_per_step_and_run(embedded, fake_llm, sites):
    embedded.services.settings = embedded.settings.model_copy(
        update={"llm_model": "openai/gpt-4o-mini"}
    )
    fake_llm.script = Script([lambda c: act({"action_type": "scroll"}), complete()])
    response = embedded.run(prompt="x", url=sites.url("long.html"))
    usage = response.llm_usage
    assert (usage.input_tokens, usage.output_tokens) == (300, 60)  # 3 calls of 100 in, 20 out
    assert usage.cost > 0
    steps = embedded.store.steps(response.run_id)
    assert sum(s.llm_cost for s in steps) == usage.cost
    assert [s.input_tokens for s in steps] == [100, 200]


def test_downloads_are_stored_and_listed(embedded, fake_llm, sites):
    def download_both(call):
        return {
            "actions": [
                {"action_type": "click", "id": call.id_of("Download the city report")},
                {"action_type": "click", "id": call.id_of("Generate export")},
            ]
        }

    fake_llm.script = Script([download_both, complete()])
    response = embedded.run(prompt="Download the reports", url=sites.url("downloads.html"))
    assert response.status == "completed"
    files = {f.filename: f for f in response.downloaded_files}
    assert set(files) == {"cities-report.csv", "generated.csv"}
    report = files["cities-report.csv"]
    original = (sites_root() / "files/report.csv").read_bytes()
    assert report.file_size == len(original)
    assert report.checksum == hashlib.sha256(original).hexdigest()
    assert report.modified_at is not None and report.artifact_id.startswith("a_")
    assert embedded.artifacts.get(report.url) == original
    assert '"cities-report.csv"' in fake_llm.calls[1].text  # the model is told


def test_upload_file_from_a_stored_artifact_and_from_a_url(embedded, fake_llm, sites):
    artifact_id = download_report(embedded, fake_llm, sites)

    fake_llm.reset(upload_script(artifact_id=artifact_id))
    embedded.run(prompt="Upload the report", url=sites.url("upload.html"))
    assert (
        "Received cities-report.csv (42 bytes), first line: city,population"
        in fake_llm.calls[1].text
    )

    fake_llm.reset(upload_script(file_url=sites.url("files/report.csv")))
    embedded.run(prompt="Upload the report", url=sites.url("upload.html"))
    assert "Received report.csv (42 bytes)" in fake_llm.calls[1].text


def test_upload_of_another_organizations_artifact_is_refused(embedded, fake_llm, sites):
    artifact_id = download_report(embedded, fake_llm, sites)
    embedded.org = embedded.store.ensure_organization("someone-else")
    fake_llm.reset(upload_script(artifact_id=artifact_id))
    embedded.run(prompt="Upload", url=sites.url("upload.html"))
    assert f"FAILED: no artifact {artifact_id}" in fake_llm.calls[1].text
    assert "No file chosen yet" in fake_llm.calls[1].text


def download_report(embedded, fake_llm, sites) -> str:
    """Run a task that downloads the city report; the stored file's artifact id."""
    fake_llm.reset(
        Script(
            [
                lambda c: act({"action_type": "click", "id": c.id_of("Download the city report")}),
                complete(),
            ]
        )
    )
    downloaded = embedded.run(prompt="Download", url=sites.url("downloads.html"))
    return downloaded.downloaded_files[0].artifact_id


def upload_script(**source: str) -> Script:
    def upload(call):
        return act({"action_type": "upload_file", "id": call.id_of("type=file"), **source})

    return Script([upload, complete()])


def sites_root():
    from tests.sites.server import SITES

    return SITES


def test_proxy_location_routes_the_runs_traffic_through_the_proxy(embedded, fake_llm, sites):
    from tests.forward_proxy import ForwardProxy

    proxy = ForwardProxy()
    try:
        fake_llm.script = Script([complete()])
        response = embedded.run(
            prompt="Look", url=sites.url("assets.html"), proxy_location={"url": proxy.url}
        )
        assert response.status == "completed", response.failure_reason
        assert sites.url("assets.html") in proxy.seen
        assert sites.url("assets/style.css") in proxy.seen  # subresources too

        proxy.seen.clear()
        embedded.services.settings = embedded.settings.model_copy(
            update={"proxy_locations": {"US-CA": proxy.url}}
        )
        fake_llm.reset(Script([complete()]))
        embedded.run(prompt="Look", url=sites.url("products.html"), proxy_location="US-CA")
        assert proxy.seen == [sites.url("products.html")]

        proxy.seen.clear()
        fake_llm.reset(Script([complete()]))
        direct = embedded.run(prompt="Look", url=sites.url("products.html"), proxy_location="NONE")
        assert direct.status == "completed" and proxy.seen == []
    finally:
        proxy.close()


def test_unknown_or_malformed_proxy_locations_are_refused():
    import pytest

    from skyq.errors import InvalidRequestError
    from skyq.proxies import resolve_proxy

    named = {"RESIDENTIAL": "http://user:p%40ss@proxy.test:3128"}
    resolved = resolve_proxy("RESIDENTIAL", named)
    assert resolved.server == "http://proxy.test:3128" and resolved.password == "p@ss"
    assert "p@ss" not in repr(resolved)
    for bad in ("US-TX", {"url": "ftp://x:1"}, {"country": "US"}):
        with pytest.raises(InvalidRequestError) as caught:
            resolve_proxy(bad, named)
        assert caught.value.field == "proxy_location"
