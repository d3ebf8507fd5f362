"""The `runner` command line: parses arguments, calls into the package, prints results.

Each command group lives in its own module and is imported lazily, so `runner validate` never
pays for httpx, the scheduler or the simulator. Click runs with standalone_mode=False so that a
usage error exits 1, never 2 (2 means "changes pending" for `plan --detailed-exitcode`).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from runner import __version__
from runner.errors import EXIT_ERROR, RunnerError

# command name -> (module, attribute, one-line help shown by `runner --help`)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "runner.cli.validate",
        "validate",
        "Check playbooks against the schema and rules.",
    ),
    "sim": (
        "runner.cli.sim",
        "sim",
        "Run or drive the built-in Orderly-compatible exchange simulator.",
    ),
    "plan": ("runner.cli.reconcile", "plan", "Show what apply would change, with its risk."),
    "apply": ("runner.cli.reconcile", "apply", "Make the account match a playbook."),
    "status": (
        "runner.cli.reconcile",
        "status",
        "Show each symbol's condition and margin figures.",
    ),
    "history": ("runner.cli.reconcile", "history", "List past runs from the journal."),
    "simulate": ("runner.cli.simulate", "simulate", "Rehearse a playbook along a price path."),
    "keys": (
        "runner.cli.keys",
        "keys",
        "Generate an Orderly ed25519 key or show the configured one.",
    ),
    "schedule": ("runner.cli.schedule", "schedule", "Run playbooks on their cron schedules."),
    "halt": (
        "runner.cli.schedule",
        "halt",
        "Emergency stop: make a playbook's next runs behave as halt: true.",
    ),
    "resume": ("runner.cli.schedule", "resume", "Undo `runner halt`."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = getattr(module, entry[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runner")
def cli() -> None:
    """GitOps for Orderly perpetual-futures accounts.

    A playbook (YAML, kept in git) declares margin mode, leverage, resting entry orders and
    isolated-margin rules per symbol. `runner plan` shows what would change, `runner apply`
    makes the account match. With no credentials, runner talks to its built-in simulator.
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `runner` console script."""
    try:
        result: Any = cli.main(args=argv, prog_name="runner", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except RunnerError as exc:
        click.echo(f"error: {str(exc) or type(exc).__name__}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
