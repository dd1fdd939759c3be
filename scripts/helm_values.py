"""Values for the official OpenTelemetry Collector Helm chart (open-telemetry/opentelemetry-
collector), built around the config that `render-config` renders, so Kubernetes runs the same
config as compose and the tests: agents as a DaemonSet, gateways as a Deployment with an HPA.

Secrets come from a Kubernetes Secret named `openrouter-bundle` (keys OPENOBSERVE_AUTH_TOKEN,
COLLECTOR_GATEWAY_TOKEN); TLS files from a Secret `openrouter-bundle-tls` mounted at the paths
the settings name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scripts.render_config import COLLECTOR_SECRET_KEYS

ROOT = Path(__file__).resolve().parents[1]
SECRET_NAME = "openrouter-bundle"
TLS_SECRET_NAME = "openrouter-bundle-tls"


def manifest_release() -> str:
    manifest = yaml.safe_load((ROOT / "collector" / "builder-config.yaml").read_text())
    return str(manifest["dist"]["version"])


def helm_values(settings: dict[str, Any], config_text: str) -> dict[str, Any]:
    gateway = settings["COLLECTOR_ROLE"] == "gateway"
    queue_dir = yaml.safe_load(config_text)["extensions"]["file_storage/queue"]["directory"]
    memory = settings["COLLECTOR_MEMORY_LIMIT_MIB"]
    values: dict[str, Any] = {
        "mode": "deployment" if gateway else "daemonset",
        "image": {
            "repository": "otel/opentelemetry-collector-contrib",
            "tag": manifest_release(),
        },
        "command": {"name": "otelcol-contrib"},
        # Replaces the chart's default config entirely: only the rendered one runs.
        "alternateConfig": yaml.safe_load(config_text),
        "extraEnvs": [
            {
                "name": key,
                "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": key, "optional": True}},
            }
            for key in COLLECTOR_SECRET_KEYS
        ]
        + [
            {"name": "GOMEMLIMIT", "value": f"{memory}MiB"},
            {"name": "HOSTNAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "resources": {"limits": {"memory": f"{memory * 5 // 4}Mi"}},
        "extraVolumes": [
            # Agents keep their queue on the node, so a restarted pod finds it again.
            {"name": "queue", "emptyDir": {}}
            if gateway
            else {"name": "queue", "hostPath": {"path": queue_dir, "type": "DirectoryOrCreate"}},
            {"name": "tls", "secret": {"secretName": TLS_SECRET_NAME, "optional": True}},
        ],
        "extraVolumeMounts": [
            {"name": "queue", "mountPath": queue_dir},
            {"name": "tls", "mountPath": "/etc/otelcol-certs", "readOnly": True},
        ],
        "ports": {
            "otlp": {"enabled": True, "containerPort": settings["COLLECTOR_OTLP_GRPC_PORT"]},
            "otlp-http": {"enabled": True, "containerPort": settings["COLLECTOR_OTLP_HTTP_PORT"]},
        },
    }
    if gateway:
        values["autoscaling"] = {
            "enabled": True,
            "minReplicas": 2,
            "maxReplicas": 10,
            "targetCPUUtilizationPercentage": 70,
        }
        # A headless service lets agents resolve every gateway pod (dns: resolver).
        values["service"] = {"clusterIP": "None"}
    return values
