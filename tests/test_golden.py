"""The checked-in rendered configs (collector/golden/) are exactly what the template renders
for each role and content policy, and the collector accepts each one."""

from __future__ import annotations

import pytest

from openrouter_openobserve.render_config import collector_validate
from scripts.golden import CASES, GOLDEN_DIR, rendered
from tests.harness import COLLECTOR_BINARY

SECRETS = {
    "OPENOBSERVE_AUTH_TOKEN": "Basic dXNlckBleGFtcGxlLmNvbTpwYXNzY29kZQ==",
    "COLLECTOR_GATEWAY_TOKEN": "golden-shared-token-0123",
}


@pytest.mark.parametrize("case", CASES)
def test_golden_config_is_what_the_template_renders(case: str) -> None:
    golden = (GOLDEN_DIR / f"{case}.yaml").read_text(encoding="utf-8")
    assert rendered(case) == golden, f"run scripts/update-golden and review the diff ({case})"


@pytest.mark.parametrize("case", ["agent", "gateway-full"])
def test_golden_config_is_valid(case: str) -> None:
    text = (GOLDEN_DIR / f"{case}.yaml").read_text(encoding="utf-8")
    environ = {**SECRETS, "HOSTNAME": "gateway"}
    # TLS files are read when the collector starts, not by `validate`.
    assert collector_validate(COLLECTOR_BINARY, text, environ) is None
