"""The web front end: a Flask app over the search library.

``create_app`` builds it (the application-factory pattern): settings come from
the defaults, then the environment, then the ``config`` mapping, then the
``index_dir`` argument.  Pages and the JSON API are two blueprints rendering
the same :class:`search.query.SearchResult`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from search.config import Settings


def create_app(index_dir: str | Path | None = None, config: Mapping[str, Any] | None = None) -> Flask:
    """The Flask application serving the index in ``index_dir``.

    :param index_dir: the index folder; default ``INDEX_DIR`` from ``config``,
        then ``$SEARCH_INDEX_DIR``, then ``index/``.
    :param config: Flask settings to override (``TESTING``, ``INDEX_DIR`` ...).
    """
    app = Flask(__name__)
    app.config.from_mapping(INDEX_DIR=str(Settings.from_env().index_dir))
    if config:
        app.config.from_mapping(config)
    if index_dir is not None:
        app.config["INDEX_DIR"] = str(index_dir)

    from web import api, citations, feeds, index, pages, security

    security.init_app(app)
    index.init_app(app)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(citations.blueprint)
    app.register_blueprint(feeds.blueprint)
    return app
