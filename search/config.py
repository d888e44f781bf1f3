"""Configuration: every setting in one place, read from the environment with defaults.

See the README's "Configuration" table; the command line and the web app's
factory may override these per call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping


@dataclass(frozen=True)
class Settings:
    """The engine's settings.

    :param index_dir: where the on-disk index lives (``SEARCH_INDEX_DIR``).
    :param data_dir: the folder of exports ``reindex`` reads by default (``SEARCH_DATA_DIR``).
    :param host: the address the web server listens on (``SEARCH_HOST``).
    :param port: its port (``SEARCH_PORT``).
    :param workers: server processes ``serve`` starts (``SEARCH_WORKERS``, default one per core).
    :param meaning: whether ``reindex`` computes meaning vectors (``SEARCH_MEANING``, ``0`` for
        words alone).
    :param institution_aliases: the local alias file of the institution facet
        (``SEARCH_INSTITUTION_ALIASES``, see :mod:`search.aliases`); None for none.
    :param ror_dump: a ROR data dump the institution facet matches names against
        (``SEARCH_ROR_DUMP``, see :mod:`search.ror`); None for none.
    :param max_result_window: how deep page numbers reach: a page whose last result would
        lie past this many is refused (``SEARCH_MAX_RESULT_WINDOW``); a cursor walks further.
    """

    index_dir: Path = Path("index")
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    meaning: bool = True
    institution_aliases: Path | None = None
    ror_dump: Path | None = None
    max_result_window: int = 10_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Settings from ``environ`` (default: ``os.environ``), defaults for what is unset."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            index_dir=Path(env.get("SEARCH_INDEX_DIR", str(defaults.index_dir))),
            data_dir=Path(env.get("SEARCH_DATA_DIR", str(defaults.data_dir))),
            host=env.get("SEARCH_HOST", defaults.host),
            port=int(env.get("SEARCH_PORT", str(defaults.port))),
            workers=int(env.get("SEARCH_WORKERS", "0")) or defaults.workers,
            meaning=env.get("SEARCH_MEANING", "1").strip().lower() not in ("0", "false", "no", "off"),
            institution_aliases=Path(env["SEARCH_INSTITUTION_ALIASES"]) if env.get("SEARCH_INSTITUTION_ALIASES") else None,
            ror_dump=Path(env["SEARCH_ROR_DUMP"]) if env.get("SEARCH_ROR_DUMP") else None,
            max_result_window=_positive(env, "SEARCH_MAX_RESULT_WINDOW", defaults.max_result_window),
        )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    """The whole number above zero in ``env[name]``, or ``default`` when it is unset.

    :raises ValueError: naming the variable, for any other value.
    """
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a whole number above 0, not {value!r}")
    return int(value)
