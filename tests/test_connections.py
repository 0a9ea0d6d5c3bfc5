"""The model clients' HTTP connections: the TLS trust store is loaded once per process, as the HTTP
library itself would load it (``SSL_CERT_FILE`` honoured), and clients built on it still talk."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from fake_openai import FakeOpenAIServer

from iterative_coder.config import ModelEntry
from iterative_coder.connections import shared_tls_context
from iterative_coder.models import create_client
from iterative_coder.roles import ROLES


def entry(base_url: str) -> ModelEntry:
    return ModelEntry(
        model="gpt-4o-mini", api_key="sk-test", base_url=base_url, api_type=None, api_version=None,
        tags=(), price=None, source="test", vision=None,
    )  # fmt: skip


def test_every_role_of_a_session_shares_one_trust_store_and_each_still_answers(
    fake_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[ssl.SSLContext] = []
    new = ssl.SSLContext.__new__

    def counted(cls, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        built.append(new(cls, *args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ssl.SSLContext, "__new__", staticmethod(counted))
    shared_tls_context.cache_clear()
    try:
        clients = [create_client(entry(fake_server.base_url), stream=False) for _ in ROLES]
        assert len(built) == 1  # 20-40 ms of CPU each before: once per role per session
        fake_server.enqueue("default", *(f"hello, {role}" for role in ROLES))

        async def ask_each() -> list[str]:
            from autogen_core.models import UserMessage

            replies = []
            for client in clients:
                result = await client.create([UserMessage(content="hi", source="user")])
                replies.append(str(result.content))
                await client.close()
            return replies

        assert asyncio.run(ask_each()) == [f"hello, {role}" for role in ROLES]
    finally:
        shared_tls_context.cache_clear()


def test_a_trust_store_named_by_ssl_cert_file_is_the_one_loaded(tmp_path: Path) -> None:
    bundle = Path(ssl.get_default_verify_paths().openssl_cafile)
    if not bundle.is_file():
        import certifi

        bundle = Path(certifi.where())
    first = bundle.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    (tmp_path / "one.pem").write_text(first[first.index("-----BEGIN CERTIFICATE-----") :])
    probe = "from iterative_coder.connections import shared_tls_context as s; print(len(s().get_ca_certs()))"
    env = {"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(tmp_path / "one.pem")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "1", out.stderr
