"""`runner validate`: check playbook files and report every problem, one line each.

Parses arguments and prints; the checking lives in `runner.playbook`. Must stay offline and
fast: it never imports the exchange client, the scheduler or the simulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from runner.errors import EXIT_ERROR, EXIT_OK
from runner.playbook.build import load_playbooks
from runner.playbook.errors import PlaybookError

JSON_FORMAT_VERSION = 1


@click.command(
    "validate",
    epilog=(
        "\b\nExamples:\n"
        "  runner validate playbooks/\n"
        "  runner validate playbooks/eth-isolated.yaml --json\n"
        "\n"
        "Exit code 0 when every playbook is valid, 1 otherwise."
    ),
)
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
    metavar="PATH...",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
def validate(paths: tuple[Path, ...], as_json: bool) -> int:
    """Check playbooks against the schema and the rules.

    PATH is a playbook file or a directory; a directory is checked file by file (its *.yaml
    and *.yml files, not its subfolders). Every problem is printed on one line as
    `file:line:col: field.path: what is wrong (how to fix)`. Nothing is sent anywhere:
    no credentials or network are needed.
    """
    results = load_playbooks(paths)
    if as_json:
        files = []
        for path, result in results:
            error = isinstance(result, PlaybookError)
            files.append(
                {
                    "path": str(path),
                    "valid": not error,
                    "playbook": None if isinstance(result, PlaybookError) else result.name,
                    "errors": [p.as_dict() for p in result.problems]
                    if isinstance(result, PlaybookError)
                    else [],
                }
            )
        click.echo(json.dumps({"version": JSON_FORMAT_VERSION, "files": files}, indent=2))
    else:
        for path, result in results:
            if isinstance(result, PlaybookError):
                for problem in result.problems:
                    click.echo(problem.render())
            else:
                count = len(result.symbol_names)
                noun = "symbol" if count == 1 else "symbols"
                click.echo(f"ok  {path}  ({result.name}, {count} {noun})")
    failed = any(isinstance(result, PlaybookError) for _, result in results)
    return EXIT_ERROR if failed else EXIT_OK
