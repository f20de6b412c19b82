import pytest
from pydantic import ValidationError

from skyq.agent.extraction import schema_problems
from skyq.config import Settings
from skyq.engines import ensure_supported
from skyq.errors import ConfigurationError, InvalidRequestError
from skyq.ids import task_run_id
from skyq.llm import resolve_model
from skyq.schemas import TaskRunRequest


def test_schema_given_as_json_text_is_parsed():
    request = TaskRunRequest(prompt="x", data_extraction_schema='{"type": "array"}')
    assert request.data_extraction_schema == {"type": "array"}


@pytest.mark.parametrize(
    ("fields", "loc", "message"),
    [
        ({"url": "example.com"}, "url", "has no scheme"),
        ({"url": "file:///etc/passwd"}, "url", "scheme 'file' is not allowed"),
        ({"url": "http://a b.com"}, "url", "spaces or control characters"),
        ({"max_steps": 0}, "max_steps", "greater than 0"),
        ({"data_extraction_schema": "{"}, "data_extraction_schema", "not valid JSON"),
        (
            {"data_extraction_schema": {"type": 3}},
            "data_extraction_schema",
            "not a valid JSON Schema",
        ),
        ({"prompt": "  "}, "prompt", "must not be blank"),
        ({"engine": "skyvern-9"}, "engine", "Input should be"),
        ({"browser_address": "file:///tmp/x"}, "browser_address", "must be a DevTools address"),
        ({"browser_address": "127.0.0.1:9222"}, "browser_address", "must be a DevTools address"),
    ],
)
def test_bad_requests_name_the_field(fields, loc, message):
    with pytest.raises(ValidationError) as caught:
        TaskRunRequest(**{"prompt": "x", **fields})
    error = caught.value.errors()[0]
    assert error["loc"][0] == loc
    assert message in error["msg"]


def test_every_engine_is_supported_and_skyvern_2_is_the_default():
    for engine in ("skyvern-1.0", "skyvern-2.0", "openai-cua", "anthropic-cua", "ui-tars"):
        ensure_supported(TaskRunRequest(prompt="x", engine=engine))
    assert TaskRunRequest(prompt="x").engine == "skyvern-2.0"


def test_coordinate_engines_cannot_publish_a_workflow():
    with pytest.raises(InvalidRequestError) as caught:
        ensure_supported(TaskRunRequest(prompt="x", engine="openai-cua", publish_workflow=True))
    assert caught.value.field == "publish_workflow"
    assert "skyvern-1.0 or skyvern-2.0" in str(caught.value)


def test_model_resolution():
    with pytest.raises(ConfigurationError, match="no model configured"):
        resolve_model(Settings(llm_model=""))
    assert resolve_model(Settings(llm_model="gpt-4o-mini")).model == "gpt-4o-mini"
    local = resolve_model(Settings(llm_model="qwen2.5", llm_api_base="http://127.0.0.1:11434/v1"))
    assert local.model == "openai/qwen2.5"
    assert (
        resolve_model(Settings(llm_model="a"), override="anthropic/claude").model
        == "anthropic/claude"
    )


def test_model_config_repr_hides_the_key():
    config = resolve_model(Settings(llm_model="x", llm_api_key="sk-secret-123"))
    assert "sk-secret-123" not in repr(config)


def test_embedded_defaults(tmp_path):
    settings = Settings(home=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/skyq.db"
    assert settings.resolved_artifacts_url == (tmp_path / "artifacts").as_uri()
    assert str(settings.chromium_path) == "/usr/bin/chromium"


def test_settings_come_from_skyq_variables(monkeypatch):
    monkeypatch.setenv("SKYQ_LLM_MODEL", "from-env")
    monkeypatch.setenv("SKYQ_DATABASE_URL", "postgresql://db/skyq")
    settings = Settings()
    assert settings.llm_model == "from-env"
    assert settings.resolved_database_url == "postgresql://db/skyq"


def test_schema_problems_name_the_path():
    schema = {"type": "object", "properties": {"n": {"type": "number"}}, "required": ["n", "m"]}
    assert schema_problems({"n": "1"}, schema) == [
        "(root): 'm' is a required property",
        "n: '1' is not of type 'number'",
    ]
    assert schema_problems({"n": 1, "m": 2}, schema) == []


def test_run_ids_sort_by_creation():
    ids = [task_run_id() for _ in range(3)]
    assert all(i.startswith("tsk_") and len(i) == 23 for i in ids)


def test_a_run_names_one_browser_at_most():
    with pytest.raises(ValidationError) as caught:
        TaskRunRequest(
            prompt="x", browser_address="http://127.0.0.1:9222", browser_session_id="pbs_1"
        )
    assert "browser_address and browser_session_id: give one of them" in str(caught.value)
    assert TaskRunRequest(prompt="x", browser_address="ws://h:1/devtools/browser/a").browser_address


def test_screen_models_per_engine():
    from skyq.llm.config import screen_models

    settings = Settings(
        anthropic_cua_api_base="http://gw.internal/v1/", llm_api_key="k", llm_model=""
    )
    anthropic = screen_models(settings, "anthropic-cua")
    assert anthropic.driver.api_base == "http://gw.internal"  # litellm adds /v1/messages
    assert anthropic.text == anthropic.driver  # no SKYQ_LLM_MODEL: Claude shapes the output
    openai = screen_models(Settings(), "openai-cua", "openai/other-cua")
    assert openai.driver.model == "openai/other-cua" and openai.driver.api_base is None
    assert openai.text.model == "openai/gpt-4.1-mini"  # computer-use-preview cannot chat
    with_text = screen_models(Settings(llm_model="gpt-4o-mini"), "openai-cua")
    assert with_text.text.model == "gpt-4o-mini"
    with pytest.raises(ConfigurationError, match="SKYQ_UI_TARS_MODEL"):
        screen_models(Settings(), "ui-tars")
