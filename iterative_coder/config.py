"""Model configuration: `.env`, `OAI_CONFIG_LIST` and `OPENAI_*` variables become model entries.

Nothing here imports AutoGen, so the CLI can report configuration errors instantly.
Precedence (first that applies wins):

1. ``--config-list PATH``
2. env ``OAI_CONFIG_LIST`` (a path, or the JSON text itself, as AutoGen allows)
3. a file ``OAI_CONFIG_LIST`` in the current directory
4. ``OPENAI_API_KEY`` and/or ``OPENAI_BASE_URL``, with the model from ``--model`` or
   ``ITERATIVE_CODER_MODEL`` (default ``gpt-4o-mini``)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .json_mistakes import likely_mistake
from .roles import ROLE_NAMES

DEFAULT_MODEL = "gpt-4o-mini"
ENV_SOURCE = "OPENAI_API_KEY/OPENAI_BASE_URL"
CONFIG_LIST_NAME = "OAI_CONFIG_LIST"
API_TYPES = ("openai", "azure")

NO_MODEL_MESSAGE = (
    "No model is configured. Do one of: "
    "(1) pass --config-list PATH to an OAI_CONFIG_LIST JSON file; "
    "(2) set OAI_CONFIG_LIST (a path or the JSON itself) or put an OAI_CONFIG_LIST file here; "
    "(3) set OPENAI_API_KEY for OpenAI, or OPENAI_BASE_URL alone for a local server (Ollama: "
    "http://localhost:11434/v1; no key needed), in the environment or in .env."
)


_KEY_SHAPED = re.compile(r"\b(sk|key|api|pk|rk)[-_][A-Za-z0-9_\-]{12,}\b")


def redact(text: str, secrets: list[str | None] | None = None) -> str:
    """Remove API keys from a message: the given secrets, and anything key-shaped."""
    for secret in secrets or []:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "[redacted]")
    return _KEY_SHAPED.sub("[redacted]", text)


class ConfigError(Exception):
    """A configuration problem the user must fix; the message says what and how."""


class NothingConfigured(ConfigError):
    """No way of configuring a model was used at all (a local server may still be found)."""


@dataclass(frozen=True)
class ModelEntry:
    """One model the tool may call, as described by an OAI_CONFIG_LIST entry."""

    model: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    api_type: str = "openai"
    api_version: str | None = None
    tags: tuple[str, ...] = ()
    price: tuple[float, ...] | None = None  # USD per 1,000: prompt, completion[, cached prompt]
    source: str = ""
    vision: bool | None = None  # the model accepts images; None: as autogen-ext knows the model

    def describe(self) -> str:
        """A short, secret-free description, e.g. ``gpt-4o-mini at http://localhost:11434/v1``."""
        where = f" at {self.base_url}" if self.base_url else ""
        return f"{self.model}{where}"


def entries_for_roles(
    entries: list[ModelEntry], chosen_models: Mapping[str, str | None] | None = None
) -> dict[str, list[ModelEntry]]:
    """For each role, the entries in the order to try: its own entry first, then the others.

    A role's entry is the one whose model ``chosen_models[role]`` names, else the first entry tagged
    with the role, else the first entry.
    """
    chosen_models = chosen_models or {}
    by_role: dict[str, list[ModelEntry]] = {}
    for role in ROLE_NAMES:
        wanted = chosen_models.get(role)
        if wanted:
            entry = next((e for e in entries if e.model == wanted), None)
            if entry is None:
                if entries[0].source != ENV_SOURCE:
                    known = ", ".join(sorted({e.model for e in entries}))
                    raise ConfigError(
                        f"--{role}-model {wanted}: no entry with that model in {entries[0].source} "
                        f"(it has: {known})."
                    )
                entry = replace(entries[0], model=wanted)  # OPENAI_* variables serve any model name
        else:
            entry = next((e for e in entries if role in e.tags), entries[0])
        by_role[role] = [entry] + [e for e in entries if e is not entry]
    return by_role


def load_dotenv_file(cwd: Path) -> None:
    """Load ``.env`` from ``cwd`` without overriding variables that are already set."""
    env_file = cwd / ".env"
    if env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


def resolve_model_entries(
    *,
    config_list_path: str | None,
    model: str | None,
    env: Mapping[str, str],
    cwd: Path,
) -> list[ModelEntry]:
    """Return the usable model entries, the chosen one first; raise ConfigError otherwise."""
    if config_list_path:
        path = Path(config_list_path).expanduser()
        entries = _entries_from_file(path, f"--config-list {config_list_path}")
    elif env.get(CONFIG_LIST_NAME, "").strip():
        entries = _entries_from_env(env[CONFIG_LIST_NAME], cwd)
    elif (cwd / CONFIG_LIST_NAME).is_file():
        entries = _entries_from_file(cwd / CONFIG_LIST_NAME, str(cwd / CONFIG_LIST_NAME))
    elif env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        name = model or env.get("ITERATIVE_CODER_MODEL") or DEFAULT_MODEL
        return [
            ModelEntry(
                model=name,
                api_key=env.get("OPENAI_API_KEY") or None,
                base_url=env.get("OPENAI_BASE_URL") or None,
                source=ENV_SOURCE,
            )
        ]
    else:
        raise NothingConfigured(NO_MODEL_MESSAGE)

    if model:
        chosen = [e for e in entries if e.model == model]
        if not chosen:
            known = ", ".join(sorted({e.model for e in entries}))
            raise ConfigError(
                f"--model {model}: no entry with that model in {entries[0].source} "
                f"(it has: {known}). Pick one of those or add an entry."
            )
        entries = chosen + [e for e in entries if e.model != model]
    _check_key_available(entries[0], env)
    return [_with_key_from(env, entry) for entry in entries]


def _with_key_from(env: Mapping[str, str], entry: ModelEntry) -> ModelEntry:
    """An entry with no key and no server of its own uses OPENAI_API_KEY (AZURE_OPENAI_API_KEY for
    Azure), passed explicitly: the tool keeps no key in its environment for programs to find."""
    if entry.api_key or (entry.base_url and entry.api_type != "azure"):
        return entry
    name = "AZURE_OPENAI_API_KEY" if entry.api_type == "azure" else "OPENAI_API_KEY"
    return replace(entry, api_key=env.get(name) or None)


def _check_key_available(entry: ModelEntry, env: Mapping[str, str]) -> None:
    if entry.api_key or entry.base_url or env.get("OPENAI_API_KEY"):
        return
    raise ConfigError(
        f"The entry for model {entry.model} in {entry.source} has no api_key and no base_url, and "
        "OPENAI_API_KEY is not set. Add an api_key to the entry or set OPENAI_API_KEY."
    )


def _entries_from_env(value: str, cwd: Path) -> list[ModelEntry]:
    text = value.strip()
    if text.startswith("["):
        return _entries_from_json(text, "the OAI_CONFIG_LIST environment variable")
    path = Path(text).expanduser()
    if not path.is_absolute() and not path.exists():
        path = cwd / path
    return _entries_from_file(path, f"OAI_CONFIG_LIST={value}")


def _entries_from_file(path: Path, source: str) -> list[ModelEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found. Check the path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{source}: cannot read the file ({reason}).") from None
    return _entries_from_json(text, str(path))


def _entries_from_json(text: str, source: str) -> list[ModelEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        mistake = likely_mistake(text, exc.pos)
        if mistake:
            raise ConfigError(f"{source}: not valid JSON {mistake.sentence()}") from None
        raise ConfigError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}). It must be a "
            'JSON list of entries like [{"model": "gpt-4o-mini", "api_key": "..."}].'
        ) from None
    if not isinstance(data, list):
        raise ConfigError(f"{source}: must be a JSON list of model entries, not a {type(data).__name__}.")
    if not data:
        raise ConfigError(f'{source}: the list is empty; add at least one entry with a "model".')
    return [_entry_from_dict(item, index, source) for index, item in enumerate(data, start=1)]


def _entry_from_dict(item: object, index: int, source: str) -> ModelEntry:
    where = f"{source}: entry {index}"
    if not isinstance(item, dict):
        raise ConfigError(f'{where} must be a JSON object with a "model", not a {type(item).__name__}.')
    model = item.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f'{where} has no "model"; every entry needs one.')
    api_type = str(item.get("api_type") or "openai").lower()
    if api_type not in API_TYPES:
        raise ConfigError(f'{where}: api_type {api_type!r} is not supported; use "openai" or "azure".')
    base_url = item.get("base_url") or item.get("azure_endpoint")
    if api_type == "azure" and not base_url:
        raise ConfigError(f"{where}: an azure entry needs a base_url (the Azure endpoint).")
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f'{where}: "tags" must be a list of strings.')
    return ModelEntry(
        model=model.strip(),
        api_key=_optional_str(item.get("api_key"), where, "api_key"),
        base_url=_optional_str(base_url, where, "base_url"),
        api_type=api_type,
        api_version=_optional_str(item.get("api_version"), where, "api_version"),
        tags=tuple(tags),
        price=_price(item.get("price"), where),
        source=source,
        vision=_vision(item.get("vision"), where),
    )


def _vision(value: object, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ConfigError(f'{where}: "vision" must be true or false (whether the model accepts images).')


def _optional_str(value: object, where: str, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f'{where}: "{name}" must be a string.')
    return value


def _price(value: object, where: str) -> tuple[float, ...] | None:
    """USD per 1,000 tokens: [prompt, completion] or [prompt, completion, cached prompt]."""
    if value is None:
        return None
    if (
        isinstance(value, list)
        and len(value) in (2, 3)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        return tuple(float(v) for v in value)
    raise ConfigError(
        f'{where}: "price" must be [prompt_price_per_1k, completion_price_per_1k] or with a third number, '
        "the price of cached prompt tokens, e.g. [0.00015, 0.0006] or [0.00015, 0.0006, 0.000075]."
    )
