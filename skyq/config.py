"""skyq's settings: the one place configuration is read.

Settings are read once at a process edge (CLI, API factory, worker boot) with
``Settings()`` and passed down; library code never reads ``os.environ`` itself.
Every field is a ``SKYQ_`` environment variable (``SKYQ_DATABASE_URL`` ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOME = Path.home() / ".skyq"

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKYQ_", extra="ignore")

    home: Path = Field(DEFAULT_HOME, description="Folder for the embedded database and artifacts.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means a SQLite file under home."
    )
    artifacts_url: str = Field(
        "", description="file:///path or s3://bucket/prefix; empty means home/artifacts."
    )
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint (MinIO, moto, ...).")
    s3_region: str = "us-east-1"
    presigned_url_expiry_seconds: int = Field(3600, gt=0, le=7 * 24 * 3600)

    chromium_path: Path = Path("/usr/bin/chromium")
    browser_headless: bool = True
    viewport_width: int = Field(1280, gt=0)
    viewport_height: int = Field(720, gt=0)
    device_scale_factor: float = Field(
        1.0, gt=0, le=4, description="Device pixels per CSS pixel (2 for a HiDPI screen)."
    )
    navigation_timeout_seconds: float = Field(20.0, gt=0)
    action_timeout_seconds: float = Field(5.0, gt=0)
    egress_guard: bool = Field(
        True, description="Keep runs out of private, loopback and metadata addresses."
    )
    egress_allow: list[str] = Field(
        default_factory=list,
        description='Destinations opened anyway: "host", "host:port" or a CIDR (JSON list).',
    )
    proxy_locations: dict[str, str] = Field(
        default_factory=dict, description="proxy_location names -> proxy URLs (JSON)."
    )
    download_timeout_seconds: float = Field(60.0, gt=0, description="Longest single download.")
    record_video: bool = Field(True, description="Record each run as a webm video.")
    # The encoder's memory grows with the frame: about 136 MB of RSS per recording run
    # at 1280x720 against 81 MB at 640x360 here; the step screenshots keep full size.
    video_width: int = Field(640, ge=64, description="Width the recording is scaled to.")
    video_height: int = Field(360, ge=64, description="Height the recording is scaled to.")
    max_file_bytes: int = Field(100 * 2**20, gt=0, description="Largest download or upload.")

    llm_model: str = Field("", description="Any litellm model string, e.g. gpt-4o-mini.")
    llm_api_base: str | None = Field(None, description="An OpenAI-compatible server's base URL.")
    llm_api_key: str | None = Field(None, description="Key for llm_api_base, if it needs one.")
    llm_timeout_seconds: float = Field(120.0, gt=0)
    llm_max_retries: int = Field(2, ge=0)
    llm_send_screenshots: bool = True

    # The computer-use engines' models (a request's ``model`` overrides them). An empty
    # api_base means the provider's own API, with its key from the provider's variable
    # (OPENAI_API_KEY, ANTHROPIC_API_KEY); a set one is used with llm_api_key.
    openai_cua_model: str = "openai/computer-use-preview"
    openai_cua_api_base: str | None = None
    openai_cua_tool: Literal["computer_use_preview", "computer"] = Field(
        "computer_use_preview",
        description="computer_use_preview for computer-use-preview; computer, the GA tool "
        "(no declared display, several actions a call), for GPT-5.4 and later.",
    )
    anthropic_cua_model: str = "anthropic/claude-sonnet-4-5"
    anthropic_cua_api_base: str | None = None
    anthropic_cua_tool: Literal["computer_20241022", "computer_20250124", "computer_20251124"] = (
        Field(
            "computer_20250124",
            description="The computer tool's version: 20250124 for Claude Sonnet 4.5 back "
            "to Claude 3.7, 20251124 for Claude Opus 4.5, 20241022 for Claude 3.5 Sonnet.",
        )
    )
    ui_tars_model: str = Field("", description="e.g. ui-tars-1.5-7b on a vLLM server.")
    ui_tars_api_base: str | None = Field(None, description="The UI-TARS server's base URL.")
    ui_tars_coordinates: Literal["absolute", "relative"] = Field(
        "absolute",
        description="absolute: pixels of the picture as the model resized it (UI-TARS-1.5); "
        "relative: 0-1000 on both axes (UI-TARS-1.0).",
    )
    cua_acknowledge_safety_checks: bool = Field(
        False,
        description="Acknowledge openai-cua's safety checks and go on; else the run "
        "ends terminated, naming the check.",
    )
    cua_max_tokens: int = Field(1024, gt=0, description="Reply budget per computer-use turn.")
    cua_screenshots_kept: int = Field(
        3, gt=0, description="Screenshots resent in each anthropic-cua/ui-tars turn."
    )
    planner_max_replans: int = Field(
        2, ge=0, description="skyvern-2.0: times the plan is redone after a sub-goal fails."
    )

    extraction_models: list[str] = Field(
        default_factory=list,
        description='Pydantic models callers may name as data_extraction_schema ("pkg.mod:Cls").',
    )
    default_max_steps: int = Field(10, gt=0)
    max_elements_in_prompt: int = Field(1500, gt=0)
    max_text_chars_in_prompt: int = Field(40_000, gt=0)

    broker_url: str = Field("redis://127.0.0.1:6379/0", description="Celery broker (Redis).")
    result_backend: str = Field("redis://127.0.0.1:6379/1", description="Celery results.")
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Where callers reach the API (app_url, links)."
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, gt=0, lt=65536)
    api_key: SecretStr | None = Field(
        None, description="The key the CLI's API commands (skyq batch) send as x-api-key."
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs artifact and run-page links; shared by every API process."
    )
    api_max_body_bytes: int = Field(1_048_576, gt=0, description="Largest request body.")
    api_rate_limit_per_second: int = Field(
        50, ge=0, description="Requests a second per API key (0: no limit)."
    )
    max_active_runs_per_org: int = Field(
        1000, gt=0, description="Queued plus running runs an organization may have."
    )
    dispatch_window_per_org: int = Field(
        16,
        ge=0,
        description="Runs of one organization on the queue or running at once; the rest "
        "wait their turn in Postgres so other organizations are not stuck behind a burst. "
        "About the fleet's total concurrency; 0: no window (one FIFO queue).",
    )
    domain_max_concurrency: int = Field(
        0, ge=0, description="Runs on one site at once, across all workers (0: no limit)."
    )
    domain_max_starts_per_minute: int = Field(
        0, ge=0, description="Runs started on one site a minute, across all workers (0: no limit)."
    )
    run_timeout_seconds: float = Field(1800.0, gt=0, description="Wall-clock limit of a run.")
    lease_seconds: float = Field(30.0, gt=0, description="A run's lease; renewed while alive.")
    broker_visibility_timeout_seconds: float | None = Field(
        None,
        gt=0,
        description="Redis re-delivers a message not acked after this long. Default: "
        "above the run's hard time limit, so a long run is not delivered twice.",
    )
    reaper_interval_seconds: float = Field(10.0, gt=0, description="How often beat reaps.")
    max_attempts: int = Field(3, gt=0, description="Executions of a run before it is failed.")
    worker_metrics_port: int = Field(
        9808, ge=0, le=65535, description="Where `skyq worker` serves Prometheus metrics (0: off)."
    )
    worker_max_memory_mb: int = Field(
        2048,
        ge=0,
        description="A worker child's memory, its Chromium included (PSS), above which the "
        "browser is relaunched after the run; the child itself is replaced by Celery "
        "above it (0: no cap).",
    )
    worker_max_tasks_per_child: int = Field(1000, gt=0)
    # threads by default: a further run costs a context (~80-90 MB) instead of a child
    # and a browser (~400-500 MB), and it measured as fast or faster (bench/).
    worker_pool: Literal["prefork", "threads"] = Field(
        "threads",
        description="How `skyq worker` runs runs at once: threads, every run a context of "
        "the worker's one Chromium; prefork, a child process and a Chromium each.",
    )
    webhook_timeout_seconds: float = Field(15.0, gt=0)
    webhook_max_attempts: int = Field(6, gt=0, description="Deliveries tried before giving up.")
    webhook_backoff_seconds: float = Field(
        5.0, gt=0, description="Wait after the first failed delivery; doubles each time."
    )
    totp_wait_seconds: float = Field(900.0, gt=0, description="How long a run waits for a code.")
    totp_poll_seconds: float = Field(5.0, gt=0)
    max_wait_seconds: float = Field(
        60.0, ge=0, description="Longest a GET /v1/runs/{id}?wait_seconds= is held."
    )
    wait_poll_seconds: float = Field(0.1, gt=0, description="Long-poll check interval.")

    organization_name: str = Field("local", description="Organization of embedded runs.")
    log_level: str = Field("WARNING", description="Level of the JSON logs on stderr.")

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'skyq.db'}"

    @property
    def resolved_artifacts_url(self) -> str:
        return self.artifacts_url or (self.home / "artifacts").as_uri()
