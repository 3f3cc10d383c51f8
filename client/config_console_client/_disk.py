"""The last-known-good copies on disk: one small JSON file per server, config and request."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

logger = logging.getLogger("config_console_client")

FORMAT = 1


def default_cache_dir() -> Path:
    """`$CONFIG_CONSOLE_CACHE_DIR`, else `$XDG_CACHE_HOME/config-console`, else `~/.cache/…`."""
    if os.environ.get("CONFIG_CONSOLE_CACHE_DIR"):
        return Path(os.environ["CONFIG_CONSOLE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "config-console"


def _readable(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)[:60]


class DiskCache:
    """Files written whole (temp file, then rename), so a reader never sees half a copy."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory).expanduser()

    def path_for(self, base_url: str, request: dict[str, Any]) -> Path:
        identity = json.dumps([base_url, request], sort_keys=True)
        digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
        name = ".".join(
            _readable(part) for part in (request["namespace"], request.get("key") or "bundle")
        )
        return self.directory / f"{name}.{digest}.json"

    def load(self, base_url: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """The stored record, or None when there is none or it cannot be read."""
        path = self.path_for(base_url, request)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.warning("Ignoring unreadable last-known-good copy %s: %s", path, error)
            return None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            return None
        if record.get("base_url") != base_url or record.get("request") != request:
            return None
        if not isinstance(record.get("document"), dict):
            return None
        record["path"] = str(path)
        return record

    def save(
        self,
        base_url: str,
        request: dict[str, Any],
        *,
        document_json: str,
        etag: str | None,
        confirmed_at: float,
    ) -> None:
        """Replace the stored copy; a failure is logged, never raised (the read already worked)."""
        path = self.path_for(base_url, request)
        record = {
            "format": FORMAT,
            "base_url": base_url,
            "request": request,
            "etag": etag,
            "confirmed_at": confirmed_at,
            "document": json.loads(document_json),
        }
        temp_name = None
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp creates the file readable by its owner only: configs may be internal.
            fd, temp_name = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(record, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp_name, path)
            temp_name = None
        except OSError as error:
            logger.warning("Could not keep a last-known-good copy in %s: %s", path, error)
        finally:
            if temp_name is not None:
                try:
                    os.unlink(temp_name)
                except OSError:
                    pass

    def delete(self, base_url: str, request: dict[str, Any]) -> None:
        try:
            self.path_for(base_url, request).unlink()
        except FileNotFoundError:
            pass
        except OSError as error:
            logger.warning("Could not remove a last-known-good copy: %s", error)
