"""One line saying exactly which API key a page's requests will send, and where (never the key itself).

It asks the engine's ``find_api_key``, the same lookup the job runs, so the words cannot drift from what
is sent: a key configured in the environment goes to a local server too, and only when none is configured
does a local server get a dummy key.
"""

from __future__ import annotations

from app.components import plain
from app.i18n import t
from japagen_core.errors import JapagenError
from japagen_core.generation.llm import find_api_key
from japagen_core.settings import SECRETS_PATH


def key_statement(base_url: str | None, *, local_model: bool = False) -> str:
    """Which key a request to ``base_url`` sends (``local_model``: the model runs inside the job, no request)."""
    if local_model:
        return t("API key: none is sent; the model runs inside the job on this machine.")
    try:
        found = find_api_key(base_url or None, secrets_path=SECRETS_PATH)
    except JapagenError:  # an unreadable secrets.toml: the check before this line says what is wrong
        found = None
    server = plain(base_url) if base_url else t("OpenAI")
    if found is None:
        return t("API key: none is configured, so nothing is sent.")
    source = found[0]
    if source == "environment":
        return t(
            "API key: sends `OPENAI_API_KEY` from the environment to {server}. It is read when the job starts and "
            "never stored.",
            server=server,
        )
    if source == "secrets":
        return t(
            "API key: sends the key in `.streamlit/secrets.toml` to {server}. It is read when the job starts and "
            "never stored.",
            server=server,
        )
    return t(
        "API key: sends a dummy key to the local server {server}: no key is configured, and a local server needs none.",
        server=server,
    )
