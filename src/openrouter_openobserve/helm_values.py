"""Values for the official OpenTelemetry Collector Helm chart (open-telemetry/opentelemetry-
collector), built around the config that `render-config` renders, so Kubernetes runs the same
config as compose and the tests: agents as a DaemonSet whose queue is a node directory owned
by the collector's user, gateways as a StatefulSet with an HPA whose queue is a volume claim
per pod, kept when a pod restarts or the set scales down.

Secrets come from a Kubernetes Secret named `openrouter-bundle` (keys OPENOBSERVE_AUTH_TOKEN,
COLLECTOR_GATEWAY_TOKEN, USER_ID_HASH_SALT); TLS files from a Secret `openrouter-bundle-tls`
mounted at the paths the settings name.
"""

from __future__ import annotations

from typing import Any

import yaml

from openrouter_openobserve.bundle_files import collector_dir
from openrouter_openobserve.render_config import COLLECTOR_SECRET_KEYS

SECRET_NAME = "openrouter-bundle"
TLS_SECRET_NAME = "openrouter-bundle-tls"


def manifest_release() -> str:
    manifest = yaml.safe_load((collector_dir() / "builder-config.yaml").read_text())
    return str(manifest["dist"]["version"])


COLLECTOR_UID = 10001  # the user the bundle's collector image runs as
# The image of collector/Dockerfile's `collector` target (the build the tests run), as
# Compose tags it; push it to your registry and set image.repository to its name there.
COLLECTOR_IMAGE = "openrouter-openobserve-collector"
COLLECTOR_COMMAND = "otelcol-openrouter"
INIT_IMAGE = "busybox:1.37-musl"
QUEUE_VOLUME = "queue"
BYTES_PER_QUEUED_SPAN = 4096  # generous: about 1-2 KB on disk under the metadata policy


def helm_values(settings: dict[str, Any], config_text: str) -> dict[str, Any]:
    gateway = settings["COLLECTOR_ROLE"] == "gateway"
    queue_dir = yaml.safe_load(config_text)["extensions"]["file_storage/queue"]["directory"]
    memory = settings["COLLECTOR_MEMORY_LIMIT_MIB"]
    values: dict[str, Any] = {
        "mode": "statefulset" if gateway else "daemonset",
        "image": {"repository": COLLECTOR_IMAGE, "tag": manifest_release()},
        "command": {"name": COLLECTOR_COMMAND},
        # Replaces the chart's default config entirely: only the rendered one runs.
        "alternateConfig": yaml.safe_load(config_text),
        "extraEnvs": [
            {
                "name": key,
                "valueFrom": {
                    "secretKeyRef": {
                        "name": SECRET_NAME,
                        "key": key,
                        # Hashing user ids without the salt would hash them unsalted: the
                        # pod does not start without it.
                        "optional": not (key == "USER_ID_HASH_SALT" and settings["USER_ID_HASH"]),
                    }
                },
            }
            for key in COLLECTOR_SECRET_KEYS
        ]
        + [
            {"name": "GOMEMLIMIT", "value": f"{memory}MiB"},
            {"name": "HOSTNAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ],
        "resources": {"limits": {"memory": f"{memory * 5 // 4}Mi"}},
        "extraVolumes": [
            {"name": "tls", "secret": {"secretName": TLS_SECRET_NAME, "optional": True}},
        ],
        "extraVolumeMounts": [
            {"name": QUEUE_VOLUME, "mountPath": queue_dir},
            {"name": "tls", "mountPath": "/etc/otelcol-certs", "readOnly": True},
        ],
        "ports": {
            "otlp": {"enabled": True, "containerPort": settings["COLLECTOR_OTLP_GRPC_PORT"]},
            "otlp-http": {"enabled": True, "containerPort": settings["COLLECTOR_OTLP_HTTP_PORT"]},
        },
    }
    if gateway:
        values.update(_gateway_queue(settings))
    else:
        volume, init = _agent_queue(queue_dir)
        values["extraVolumes"].append(volume)
        values["initContainers"] = [init]
    return values


def _gateway_queue(settings: dict[str, Any]) -> dict[str, Any]:
    """A volume claim per gateway pod: the queue outlives a restart, and a scale-down keeps
    the claim (whenScaled: Retain) for the replica that comes back. fsGroup makes the
    volume writable by the collector's user."""
    size_gib = max(1, -(-settings["COLLECTOR_QUEUE_MAX_SPANS"] * BYTES_PER_QUEUED_SPAN // 2**30))
    return {
        "statefulset": {
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": QUEUE_VOLUME},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": f"{size_gib}Gi"}},
                    },
                }
            ],
            "podManagementPolicy": "Parallel",
            "persistentVolumeClaimRetentionPolicy": {
                "enabled": True,
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
        },
        "podSecurityContext": {"fsGroup": COLLECTOR_UID},
        "autoscaling": {
            "enabled": True,
            "minReplicas": 2,
            "maxReplicas": 10,
            "targetCPUUtilizationPercentage": 70,
        },
        # A headless service lets agents resolve every gateway pod (dns: resolver).
        "service": {"clusterIP": "None"},
    }


def _agent_queue(queue_dir: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The queue in a node directory, so a restarted agent pod finds it again. A hostPath
    directory is created root-owned: an init container hands it to the collector's user."""
    volume = {"name": QUEUE_VOLUME, "hostPath": {"path": queue_dir, "type": "DirectoryOrCreate"}}
    owner = f"{COLLECTOR_UID}:{COLLECTOR_UID}"
    init = {
        "name": "queue-owner",
        "image": INIT_IMAGE,
        "command": ["sh", "-c", f"chown {owner} {queue_dir} && chmod 0700 {queue_dir}"],
        "securityContext": {"runAsUser": 0},
        "volumeMounts": [{"name": QUEUE_VOLUME, "mountPath": queue_dir}],
    }
    return volume, init
