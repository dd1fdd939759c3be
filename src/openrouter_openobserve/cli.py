"""`openrouter-openobserve`: every command of the bundle under one name.

Each is also installed on its own (`render-config`, `run-collector`, `doctor`, `provision`,
`report`, `reconcile`); the group is the spelling that cannot clash with another tool's command.
"""

from __future__ import annotations

import click

from openrouter_openobserve import (
    doctor,
    provision,
    reconcile,
    render_config,
    report,
    run_collector,
)

COMMANDS = {
    "render-config": render_config.main,
    "run-collector": run_collector.main,
    "doctor": doctor.main,
    "provision": provision.main,
    "report": report.main,
    "reconcile": reconcile.main,
}


@click.group(
    commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
def main() -> None:
    """Observe every OpenRouter request of a Python app in OpenObserve."""


if __name__ == "__main__":
    main()
