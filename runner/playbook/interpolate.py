"""`${VAR}` and `${VAR:-default}` in playbook string values, taken from the environment.

Interpolation lets one playbook serve several accounts or environments (`account:
${RUNNER_ACCOUNT:-main}`). It is for plain settings, never for credentials: a variable whose
name says it holds a secret is refused, so a secret cannot leak into a plan or an error
message. `$${` writes a literal `${`. This module must never read anything but the mapping it
is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Names that hold credentials by convention; they never belong in a playbook.
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSPHRASE|TOKEN|PRIVATE|(^|_)KEY($|_)", re.IGNORECASE)


class InterpolationError(Exception):
    """A `${...}` reference cannot be resolved; carries a message and a fix for the user."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


def has_reference(text: str) -> bool:
    return "${" in text


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Replace every `${VAR}` / `${VAR:-default}` in `text` with its value from `env`."""
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("${", pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        if start > 0 and text[start - 1] == "$":  # `$${` escapes the reference
            out.append(text[pos : start - 1] + "${")
            pos = start + 2
            continue
        end = text.find("}", start + 2)
        if end < 0:
            raise InterpolationError(
                f"unterminated '${{' in {text!r}",
                "close the reference with '}', or write '$${' for a literal '${'",
            )
        out.append(text[pos:start])
        out.append(_resolve(text[start + 2 : end], env))
        pos = end + 1


def _resolve(reference: str, env: Mapping[str, str]) -> str:
    name, has_default, default = reference.partition(":-")
    if not _VAR_NAME.match(name):
        raise InterpolationError(
            f"'${{{reference}}}' is not a valid variable reference",
            "write ${NAME} or ${NAME:-default}, NAME made of letters, digits and underscores",
        )
    if _SECRET_NAME.search(name):
        raise InterpolationError(
            f"environment variable {name} looks like a credential",
            "credentials never go in a playbook; runner reads them from the account profile",
        )
    value = env.get(name)
    # as in the shell, `:-` also replaces a variable that is set but empty
    if value is not None and (value != "" or not has_default):
        return value
    if has_default:
        return default
    raise InterpolationError(
        f"environment variable {name} is not set",
        f"export {name}, or give a default: ${{{name}:-value}}",
    )
