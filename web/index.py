"""The app's handle on the index: one :class:`search.engine.Engine` per app.

A request sees one generation from start to end, even when ``reindex`` swaps in
another meanwhile, and its response names it in the ``X-Index-Generation`` header.
"""

from __future__ import annotations

import os
from pathlib import Path

import whoosh
from flask import Flask, Response, current_app, g, jsonify, render_template, request

from search.engine import Engine, Snapshot
from search.store import IndexMissing

_KEY = "search_engine"
#: The response header naming the generation a response was made from.
GENERATION_HEADER = "X-Index-Generation"
_WHOOSH = os.path.dirname(whoosh.__file__) + os.sep


def init_app(app: Flask) -> None:
    """Attach an engine over ``app.config["INDEX_DIR"]``; it opens the index lazily.

    ``app.config["MODEL_THREADS"]``: the meaning model's threads a query may use (0, the
    default: one per core).
    """
    app.extensions[_KEY] = Engine(Path(app.config["INDEX_DIR"]), app.config.get("MODEL_THREADS", 0))
    app.register_error_handler(IndexMissing, unavailable)
    app.after_request(_name_generation)


def open_now(app: Flask) -> None:
    """Open the live index (and the model) now rather than on the first request; an index
    that cannot be served is left for the requests to report (503)."""
    try:
        app.extensions[_KEY].snapshot()
    except IndexMissing:
        pass


def snapshot() -> Snapshot:
    """The live index for this request (reopened only after a ``reindex`` swap).

    :raises search.store.IndexMissing: when there is no readable index.
    """
    if "snapshot" not in g:
        engine: Engine = current_app.extensions[_KEY]
        g.snapshot = engine.snapshot()
    return g.snapshot


def damage(error: BaseException | None) -> IndexMissing | None:
    """When ``error`` was raised inside Whoosh while this request read the index, the
    index's files are damaged (Whoosh keeps no checksums, so a damaged part of a segment
    is found only when read): the generation is no longer served, and the reason is
    returned for a 503.  None for any other error."""
    if error is None or "snapshot" not in g or not _raised_in(error, _WHOOSH):
        return None
    reason = f"index in {g.snapshot.generation} is damaged: {error!r}; run `reindex --full`"
    engine: Engine = current_app.extensions[_KEY]
    engine.mark_damaged(g.snapshot, reason)
    return IndexMissing(reason)


def unavailable(error: IndexMissing) -> tuple[Response | str, int]:
    """The index cannot be served: a 503 that says why, as JSON or as a page."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        return jsonify(error=str(error)), 503
    return render_template("error.html", status=503, message=str(error)), 503


def _raised_in(error: BaseException, folder: str) -> bool:
    """Whether the innermost frame of ``error``'s traceback is code under ``folder``."""
    frame = error.__traceback__
    if frame is None:
        return False
    while frame.tb_next is not None:
        frame = frame.tb_next
    return frame.tb_frame.f_code.co_filename.startswith(folder)


def _name_generation(response: Response) -> Response:
    if "snapshot" in g:
        response.headers[GENERATION_HEADER] = g.snapshot.generation.name
    return response
