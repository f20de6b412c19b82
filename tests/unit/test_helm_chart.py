"""The Helm chart, rendered and linted offline (helm-python-sdk bundles Helm's Go SDK)
and checked against Kubernetes' schemas (kubernetes-validate)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from skyq.config import Settings

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "skyq"
KUBE_VERSION = "1.30.0"


def render(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    rendered = helm.Chart.load(CHART).render(values, name="prod", namespace="skyq", is_install=True)
    docs = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".yaml"):
            docs += [doc for doc in yaml.safe_load_all(text) if doc]
    return docs


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} rendered"
    return found[0]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def test_the_chart_lints_clean():
    report = helm.lint(str(CHART), strict=True)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_defaults_render_every_part_and_validate_against_kubernetes():
    docs = render()
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in docs)
    assert kinds == [
        ("ConfigMap", "prod-skyq"),
        ("Deployment", "prod-skyq-api"),
        ("Deployment", "prod-skyq-beat"),
        ("Deployment", "prod-skyq-flower"),
        ("Deployment", "prod-skyq-worker"),
        ("HorizontalPodAutoscaler", "prod-skyq-worker"),
        ("Job", "prod-skyq-migrate"),
        ("PodDisruptionBudget", "prod-skyq-api"),
        ("PodDisruptionBudget", "prod-skyq-worker"),
        ("Secret", "prod-skyq"),
        ("Service", "prod-skyq-api"),
        ("Service", "prod-skyq-flower"),
    ]
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_workers_shut_down_gracefully_run_as_non_root_and_have_room_for_chromium():
    worker = one(render(), "Deployment", "prod-skyq-worker")
    pod = worker["spec"]["template"]["spec"]
    main = container(worker)
    assert main["image"] == "ghcr.io/skyq/skyq:0.1.0-worker"
    assert main["args"] == ["worker", "--concurrency", "4"]
    assert pod["terminationGracePeriodSeconds"] == 300
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert main["securityContext"]["capabilities"]["drop"] == ["ALL"]
    shm = next(v for v in pod["volumes"] if v["name"] == "shm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert {"name": "shm", "mountPath": "/dev/shm"} in main["volumeMounts"]
    assert main["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert "replicas" not in worker["spec"], "the autoscaler owns the replica count"


def test_every_setting_is_wired_and_what_renders_is_valid_settings(monkeypatch):
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    wired = set(values["config"]) | set(values["secrets"]["values"])
    expected = {f"SKYQ_{name.upper()}" for name in Settings.model_fields}
    assert expected - wired == set(), "settings the chart cannot set"
    assert {k for k in wired if k.startswith("SKYQ_")} - expected == set(), "unknown settings"
    docs = render({"secrets": {"values": {"SKYQ_SECRET_KEY": "s" * 32}}})
    env = {**one(docs, "ConfigMap", "prod-skyq")["data"]}
    env.update(one(docs, "Secret", "prod-skyq")["stringData"])
    for key in list(os.environ):
        if key.startswith("SKYQ_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.dispatch_window_per_org == 16
    assert settings.database_url.startswith("postgresql://")
    assert settings.api_host == "0.0.0.0"


def test_keda_scales_workers_on_the_run_backlog_instead_of_the_hpa():
    docs = render({"worker": {"autoscaling": {"keda": {"enabled": True, "maxReplicas": 30}}}})
    scaled = one(docs, "ScaledObject", "prod-skyq-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "prod-skyq-worker"
    assert scaled["spec"]["maxReplicaCount"] == 30
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "metrics-api"
    assert trigger["metadata"]["url"] == "http://prod-skyq-api.skyq.svc:8000/metrics"
    assert trigger["metadata"]["valueLocation"] == "skyq_run_backlog"
    assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"]


def test_a_fixed_worker_count_and_an_existing_secret():
    docs = render(
        {
            "worker": {"replicas": 5, "autoscaling": {"hpa": {"enabled": False}}},
            "secrets": {"existingSecret": "skyq-credentials"},
            "flower": {"enabled": False},
        }
    )
    assert one(docs, "Deployment", "prod-skyq-worker")["spec"]["replicas"] == 5
    assert not [d for d in docs if d["kind"] in {"Secret", "HorizontalPodAutoscaler"}]
    assert not [d for d in docs if "flower" in d["metadata"]["name"]]
    api = container(one(docs, "Deployment", "prod-skyq-api"))
    assert {"secretRef": {"name": "skyq-credentials"}} in api["envFrom"]


def test_one_beat_and_migrations_before_install_and_upgrade():
    docs = render()
    beat = one(docs, "Deployment", "prod-skyq-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    job = one(docs, "Job", "prod-skyq-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert container(job)["args"] == ["db", "upgrade"]


@pytest.mark.parametrize("open_api", [False, True])
def test_flowers_api_is_closed_unless_asked(open_api):
    docs = render({"flower": {"unauthenticatedApi": open_api}})
    flower = container(one(docs, "Deployment", "prod-skyq-flower"))
    opened = {"name": "FLOWER_UNAUTHENTICATED_API", "value": "true"} in flower.get("env", [])
    assert opened is open_api
