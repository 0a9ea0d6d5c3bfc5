"""The HTTP client under each model client, with the TLS trust store loaded once per process.

Each OpenAI client builds an HTTP client of its own, and each of those loads the system's (or
certifi's) certificate bundle into a new TLS context: 20-40 ms of CPU for every role of every
session, spent again for the same bundle. The context is read-only once built and is shared by
every connection, so one per process is built here, by the HTTP library's own function (the same
``SSL_CERT_FILE``/``SSL_CERT_DIR`` rules as its default), and each client is the OpenAI library's
own default client (its timeouts, limits and redirects) given that context.
"""

from __future__ import annotations

import functools
import importlib
import ssl
from typing import Any


@functools.cache
def shared_tls_context() -> ssl.SSLContext | None:
    """The TLS context the OpenAI library's HTTP library would build by default, built once; None
    when that library has no public way to build it (then each client builds its own)."""
    import openai

    library = importlib.import_module(openai.DefaultAsyncHttpxClient.__mro__[1].__module__.split(".")[0])
    create = getattr(library, "create_ssl_context", None)
    if create is None:
        return None
    try:
        return create()
    except (TypeError, ValueError, OSError):  # a signature or a trust store it cannot read: its own way
        return None


def http_client_options() -> dict[str, Any]:
    """``http_client`` for an OpenAI client: the library's default async client on the shared TLS
    context (empty when there is none: the library then builds its default itself)."""
    context = shared_tls_context()
    if context is None:
        return {}
    import openai

    return {"http_client": openai.DefaultAsyncHttpxClient(verify=context)}
