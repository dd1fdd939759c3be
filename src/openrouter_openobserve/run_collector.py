"""`run-collector`: render the collector config from .env and run the built collector.

The collector reads its secrets from its environment (`${env:...}` in the rendered config).
This command loads them from .env the way `render-config` does (python-dotenv; real
environment variables win) and hands them to the collector, so nothing needs the shell to
source .env. The collector replaces this process: signals reach it directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from openrouter_openobserve import render_config
from openrouter_openobserve import settings as settings_mod

COMMAND = "run-collector"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@render_config.env_file_option
@click.option(
    "-o",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=render_config.DEFAULT_OUTPUT,
    show_default="build/collector.yaml",
    help="Where to write the rendered config (atomically, mode 0600) before starting.",
)
@click.option(
    "--role",
    type=click.Choice(settings_mod.ROLES),
    default=None,
    help="agent (the default) or gateway. Overrides COLLECTOR_ROLE.",
)
@render_config.collector_option
def main(env_file: Path, config_path: Path, role: str | None, collector: Path) -> None:
    """Render the collector config from .env, then run the collector with it (Ctrl-C stops)."""
    settings = render_config.settings_or_exit(env_file, role, COMMAND)
    if not collector.is_file():
        missing = f"collector binary not found at {collector} (run scripts/build-collector)"
        render_config.fail(missing, COMMAND)
    render_config.write_atomically(config_path, render_config.render(settings))
    environ = render_config.collector_environment(settings, dict(os.environ))
    os.execve(collector, [str(collector), f"--config={config_path}"], environ)


if __name__ == "__main__":
    main()
