"""Wheels the tests build themselves, written as the zip files they are (no build backend, no network),
and the folder the tool installs from with no index (``ITERATIVE_CODER_FIND_LINKS``)."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(source: Path, name: str, version: str, into: Path) -> Path:
    """A pure-Python wheel of the package folder ``source/name`` (``name`` its import name too)."""
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/{path.relative_to(source / name).as_posix()}": path.read_bytes()
        for path in sorted((source / name).rglob("*.py"))
    }
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    wheel_info = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/WHEEL"] = wheel_info
    record = "".join(f"{path},{_digest(data)},{len(data)}\n" for path, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    wheel = into / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def local_index(into: Path) -> Path:
    """A folder holding the wheel of tests/data/tinypkg."""
    into.mkdir(parents=True, exist_ok=True)
    build_wheel(DATA / "tinypkg", "tinypkg", "1.0", into)
    return into
