"""Keep secrets out of every message: the forms a secret travels in, and their redaction.

Secrets come from the environment only (``tierslieux.config.SECRET_ENV``: the wiki's bot
password, the SPARQL endpoint's password, with their user names). A secret can leave the
process in more forms than its own text: URL-encoded in a form body or a query string, or
base64-encoded with its user name in an HTTP Basic ``Authorization`` header that a server
echoes back. :func:`redact` replaces every one of these forms with ``***``; the CLI passes
its messages, its log lines and the runs history through it, as a last line of defence
behind the library's own care (which never puts a secret in an exception in the first place).

Secrets shorter than :data:`MIN_LENGTH` characters are not looked for: redacting "ab"
everywhere would garble every message, and such a password protects nothing anyway.
"""

from __future__ import annotations

import base64
import logging
import os
import urllib.parse
from collections.abc import Iterable, Mapping

#: (user variable, secret variable) of each credential read from the environment
CREDENTIAL_ENV = (
    ("TIERSLIEUX_WIKI_USER", "TIERSLIEUX_WIKI_PASSWORD"),
    ("TIERSLIEUX_SPARQL_USER", "TIERSLIEUX_SPARQL_PASSWORD"),
)
#: shortest secret that is looked for in messages
MIN_LENGTH = 4
MASK = "***"


def forms(secret: str, user: str | None = None) -> set[str]:
    """The texts ``secret`` may appear as: itself, URL-encoded (``%XX`` and ``+`` forms),
    base64 of itself and, with ``user``, base64 of ``user:secret`` (HTTP Basic)."""
    if not secret or len(secret) < MIN_LENGTH:
        return set()
    raw = secret.encode("utf-8")
    found = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
             urllib.parse.quote(secret), base64.b64encode(raw).decode("ascii"),
             base64.b64encode(raw).decode("ascii").rstrip("="),
             base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")}
    if user:
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
        found |= {basic, basic.rstrip("=")}
    return {f for f in found if len(f) >= MIN_LENGTH}


def env_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Every form of every secret set in the environment."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for user_var, secret_var in CREDENTIAL_ENV:
        secret = env.get(secret_var, "")
        found |= forms(secret, env.get(user_var, "").strip() or None)
    return found


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every form of the given secrets (default: the environment's) masked."""
    chosen = env_secrets() if secrets is None else set(secrets)
    # longest first: a base64 form may contain a shorter secret's text
    for secret in sorted(chosen, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that masks the environment's secrets in every record it lets through
    (message, arguments and the formatted exception)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = env_secrets()
        if not secrets:
            return True
        message = record.getMessage()
        record.msg, record.args = redact(message, secrets), None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = redact(text, secrets)
        return True
