"""deploy/ validates without a cluster: Kubernetes manifests against the API schemas (kubernetes-validate), the
compose file's services against the roles docs/deployment.md documents, Dockerfile rules, Terraform formatting,
Helm values, and the alert rules and Grafana dashboard against the metrics the code really exposes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from aioa.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
K8S_VERSION = "1.33.0"


def documents(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def manifests() -> list[tuple[Path, dict]]:
    return [
        (path, document)
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for document in documents(path)
    ]


def test_kubernetes_manifests_validate_strictly():
    found = manifests()
    assert found
    for path, document in found:
        try:
            kubernetes_validate.validate(document, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name} {document['kind']}/{document['metadata']['name']}: {error.message}")
    listed = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted({path.name for path, _ in found})


def test_api_and_app_deployments_probe_and_roll_without_downtime():
    deployments = {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == "Deployment"}
    for name, ready, live in (("aioa-api", "/readyz", "/healthz"), ("aioa-app", "/_stcore/health", "/_stcore/health")):
        spec = deployments[name]["spec"]
        assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
        container = spec["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == ready
        assert container["livenessProbe"]["httpGet"]["path"] == live
        assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert {"secretRef": {"name": "aioa-secrets"}} in container["envFrom"]
    api = deployments["aioa-api"]["spec"]["template"]["spec"]
    assert api["containers"][0]["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert api["terminationGracePeriodSeconds"] > 5
    scaled = {
        doc["spec"]["scaleTargetRef"]["name"] for _, doc in manifests() if doc["kind"] == "HorizontalPodAutoscaler"
    }
    assert scaled == {"aioa-api", "aioa-app"}
    kinds = {doc["kind"] for _, doc in manifests()}
    assert {"Secret", "PodDisruptionBudget", "Ingress", "PersistentVolumeClaim"} <= kinds


def documented_roles() -> dict[str, str]:
    """compose service -> command, from the roles table of docs/deployment.md."""
    text = (PROJECT_ROOT / "docs" / "deployment.md").read_text()
    table = text.split("| role | command | compose service | Kubernetes |", 1)[1].split("\n\n", 1)[0]
    roles = {}
    for line in table.strip().splitlines()[1:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        roles[cells[2].strip("`")] = re.search(r"`([^`]+)`", cells[1]).group(1)
    return roles


def test_compose_services_are_the_documented_roles():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    roles = documented_roles()
    assert set(compose["services"]) == set(roles)
    assert {"postgres", "redis", "api", "app", "dagster-webserver", "dagster-daemon", "mlflow", "watcher"} <= set(roles)
    anchor = compose["x-aioa"]
    for name, service in compose["services"].items():
        command = service.get("command")
        if command is not None and service.get("image", anchor["image"]) == anchor["image"]:
            assert " ".join(command).startswith(roles[name].split(" (")[0].split(" --")[0]), name
    for name in ("api", "app", "dagster-webserver", "dagster-daemon", "mlflow", "watcher", "pipeline-metrics"):
        assert compose["services"][name]["image"] == anchor["image"]  # one image for every role
    assert compose["services"]["api"]["healthcheck"]["test"][-1].endswith("/healthz')")


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker is not installed")
def test_docker_compose_config_accepts_the_file():
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("docker has no compose plugin here")
    env = {"AIOA_DB_PASSWORD": "test", "AIOA_SESSION_SECRET": "x" * 32, "PATH": "/usr/bin:/bin:/usr/local/bin"}
    done = subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr


def test_dockerfile_rules():
    text = (DEPLOY / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in text.splitlines() if line and not line.startswith(("#", " "))]
    arguments = dict(value.split("=", 1) for key, value in instructions if key == "ARG" and "=" in value)
    stages = [value for key, value in instructions if key == "FROM"]
    assert len(stages) >= 3  # multi-stage: uv, build, runtime
    for image in arguments.values():  # pinned bases: a full version tag, never latest
        assert re.search(r":\d+\.\d+\.\d+", image) and "latest" not in image, image
    assert (
        "uv sync --frozen --no-dev --no-install-project" in text and "uv sync --frozen --no-dev --no-editable" in text
    )
    users = [value for key, value in instructions if key == "USER"]
    assert users and not users[-1].startswith(("root", "0"))  # the final stage runs as a non-root user
    last_from = max(index for index, (key, _) in enumerate(instructions) if key == "FROM")
    assert any(key == "USER" for key, _ in instructions[last_from:])
    assert "ENTRYPOINT" in dict(instructions[last_from:]) and "tini" in dict(instructions[last_from:])["ENTRYPOINT"]
    assert not re.search(r"^ADD ", text, re.M)  # COPY only
    assert (DEPLOY / "Dockerfile.dockerignore").read_text().count(".venv")


def test_terraform_example_is_formatted_and_encrypted():
    main = (DEPLOY / "terraform" / "main.tf").read_text()
    for setting in (
        "storage_encrypted     = true",
        "publicly_accessible    = false",
        "deletion_protection       = true",
    ):
        assert setting in main
    assert "manage_master_user_password = true" in main
    assert not re.search(r"^\s*password\s*=", main, re.M)  # no password in the code: RDS generates and keeps it
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed: formatting not checked")
    done = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(DEPLOY / "terraform")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dagster_helm_values_use_our_code_location():
    values = yaml.safe_load((DEPLOY / "helm" / "dagster-values.yaml").read_text())
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"][:2] == ["--module-name", "orchestration.definitions"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert {"key": "aioa/pipeline", "limit": 1} in limits
    assert values["postgresql"]["enabled"] is False
    dagster_yaml = yaml.safe_load((DEPLOY / "dagster" / "dagster.yaml").read_text())
    assert {"key": "aioa/pipeline", "limit": 1} in dagster_yaml["run_coordinator"]["config"]["tag_concurrency_limits"]


def exposed_metric_names(home: Path) -> set[str]:
    """Sample names the code exposes: the API's /metrics after a 200, a 401 and a 500, and the pipeline collector."""
    from apps.api.observability import install_observability

    from aioa.ops.metrics import pipeline_registry

    app = FastAPI()

    @app.get("/v1/ok")
    def ok():
        return {}

    @app.get("/v1/refused")
    def refused():
        from fastapi import HTTPException

        raise HTTPException(401)

    @app.get("/v1/broken")
    def broken():
        raise RuntimeError

    install_observability(app, Settings(home=home))
    with TestClient(app, raise_server_exceptions=False) as client:
        for path in ("/v1/ok", "/v1/refused", "/v1/broken"):
            client.get(path)
        text = client.get("/metrics").text
    text += generate_latest(pipeline_registry(Settings(home=home))).decode()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def test_alert_rules_and_dashboard_use_metrics_that_exist(built_home):
    exposed = exposed_metric_names(built_home)
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    recorded = {rule["record"] for group in rules["groups"] for rule in group["rules"] if "record" in rule}
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert sum(1 for group in rules["groups"] for rule in group["rules"] if "alert" in rule) >= 6
    dashboard = json.loads((DEPLOY / "grafana" / "aioa-dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"\baioa_[a-z0-9_]+", expr)}
    assert used - exposed == set()
    used_recordings = {name for expr in expressions for name in re.findall(r"\baioa:[a-z0-9_:]+", expr)}
    assert used_recordings - recorded == set()
    assert {"aioa_snapshot_age_seconds", "aioa_ingest_lag_seconds", "aioa_ingest_rows_total"} <= used
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert scrape["rule_files"] == ["alerts.yaml"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for job in scrape["scrape_configs"]:
        host, port = job["static_configs"][0]["targets"][0].split(":")
        assert port in " ".join(compose[host]["command"])
