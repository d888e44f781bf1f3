"""The ``serve`` command: the site on a real WSGI server (waitress)."""

from __future__ import annotations

from pathlib import Path

import click
from waitress import serve as waitress_serve

from search.config import Settings
from web import create_app

#: Worker threads; searches are CPU-bound Python, so a few suffice on two cores.
THREADS = 4


@click.command(name="serve")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Index folder (default: $SEARCH_INDEX_DIR or index/).")
@click.option("--host", default=None, help="Address to listen on (default: $SEARCH_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: $SEARCH_PORT or 8000).")
def serve_command(index_dir: Path | None, host: str | None, port: int | None) -> None:
    """Serve the search site over the index."""
    settings = Settings.from_env()
    app = create_app(index_dir or settings.index_dir)
    host, port = host or settings.host, port or settings.port
    click.echo(f"Serving {app.config['INDEX_DIR']} on http://{host}:{port}/", err=True)
    waitress_serve(app, host=host, port=port, threads=THREADS)


def main() -> None:
    """Console-script entry point."""
    serve_command()
