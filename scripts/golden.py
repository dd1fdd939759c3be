"""The rendered collector configs that ship, checked in under collector/golden/ so that a
reviewer reads the YAML, not only the Jinja that makes it.

    .venv/bin/python -m scripts.golden          # rewrite collector/golden/*.yaml
    .venv/bin/python -m pytest tests/test_golden.py   # they match what the template renders
"""

from __future__ import annotations

from pathlib import Path

from openrouter_openobserve import render_config, settings

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = ROOT / "collector" / "golden"
# Settings every case shares: placeholders, never real secrets (the config holds none).
BASE = {
    "OPENOBSERVE_URL": "https://openobserve.example.com",
    "OPENOBSERVE_ORG": "acme",
    "OPENOBSERVE_AUTH_TOKEN": "Basic dXNlckBleGFtcGxlLmNvbTpwYXNzY29kZQ==",
    "COLLECTOR_QUEUE_DIR": "/var/lib/otelcol/queue",
}
GATEWAY = {
    "COLLECTOR_ROLE": "gateway",
    "COLLECTOR_BIND_ADDRESS": "0.0.0.0",
    "COLLECTOR_GATEWAY_TOKEN": "golden-shared-token-0123",
    "COLLECTOR_TLS_CERT_FILE": "/etc/otelcol-certs/gateway.pem",
    "COLLECTOR_TLS_KEY_FILE": "/etc/otelcol-certs/gateway.key",
}
CASES: dict[str, dict[str, str]] = {
    "agent": {},
    "agent-with-gateways": {
        "COLLECTOR_GATEWAYS": "gateway-1:4317,gateway-2:4317",
        "COLLECTOR_GATEWAY_TOKEN": "golden-shared-token-0123",
        "COLLECTOR_TLS_CA_FILE": "/etc/otelcol-certs/ca.pem",
    },
    "gateway-metadata": {**GATEWAY, "CONTENT_POLICY": "metadata"},
    "gateway-full": {**GATEWAY, "CONTENT_POLICY": "full"},
    "gateway-redacted": {**GATEWAY, "CONTENT_POLICY": "redacted"},
    "agent-hashed-users": {"USER_ID_HASH": "true", "USER_ID_HASH_SALT": "golden-salt-0123456789"},
}


def rendered(case: str) -> str:
    return render_config.render(settings.validate({**BASE, **CASES[case]}))


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for case in CASES:
        path = GOLDEN_DIR / f"{case}.yaml"
        path.write_text(rendered(case), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
