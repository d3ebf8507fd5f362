"""`runner keys`: generate an Orderly ed25519 key, or show the public half of the configured one.

Parses and prints; the work is in runner.orderly.signing and runner.settings. It must never
print the secret: `generate` writes it to a file only its owner can read and prints the public
key to register; `show` prints only public information.
"""

from __future__ import annotations

from pathlib import Path

import click

from runner.errors import ConfigError
from runner.orderly.signing import generate_secret
from runner.settings import DEFAULT_PROFILE, default_key_file, load_credentials, write_key_file


@click.group("keys")
def keys() -> None:
    """Generate an Orderly ed25519 key or show the configured one.

    \b
    The credentials of a profile (a playbook's `account:`) are looked up in this order:
      1. ORDERLY_<PROFILE>_ACCOUNT_ID and ORDERLY_<PROFILE>_SECRET
      2. ORDERLY_ACCOUNT_ID and ORDERLY_SECRET
      3. the key file $ORDERLY_KEY_FILE, else ~/.config/runner/<profile>.key (mode 600)
    """


@keys.command("generate")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Key file to create (default: ~/.config/runner/<profile>.key). Never overwritten.",
)
@click.option(
    "--profile",
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Profile whose default key file to create when --out is not given.",
)
def generate(out: Path | None, profile: str) -> None:
    """Create a new key: the secret goes to a file (mode 600), the public key is printed.

    Register the printed orderly-key with your Orderly account, then write the account id into
    the file (`account_id = 0x...`).
    """
    path = (out or default_key_file(profile)).expanduser()
    orderly_key = write_key_file(path, generate_secret())
    click.echo(f"orderly-key: {orderly_key}")
    click.echo(f"secret written to {path} (mode 600); it is not shown here.")
    click.echo(f"Next: register the orderly-key with your account, then set account_id in {path}.")


@keys.command("show")
@click.option(
    "--profile",
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Profile whose credentials to look up (see `runner keys --help`).",
)
def show(profile: str) -> None:
    """Print the account id, public key and source of the profile's configured credentials."""
    credentials = load_credentials(profile)
    if credentials is None:
        raise ConfigError(
            f"no credentials for profile {profile!r}: set ORDERLY_{profile.upper()}_ACCOUNT_ID "
            f"and ORDERLY_{profile.upper()}_SECRET, or create {default_key_file(profile)} with "
            "`runner keys generate`"
        )
    click.echo(f"profile:     {profile}")
    click.echo(f"account_id:  {credentials.account_id}")
    click.echo(f"orderly-key: {credentials.orderly_key}")
    click.echo(f"source:      {credentials.source}")
