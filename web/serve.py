"""The ``serve`` command: the site on a real WSGI server (waitress), one process per core.

Searches are CPU-bound Python, and one process runs Python on one core at a time
(the GIL), so ``serve`` forks a waitress process per core, each listening on the
port with its own ``SO_REUSEPORT`` socket, so the kernel deals connections out
among them evenly.  (Over one shared socket, the process that happened to be
awake accepted nearly every connection, and kept-alive connections then left the
other cores idle.)  Each process opens the index before it listens (the arrays
are memory-mapped, so the processes share their pages) and follows ``reindex``'s
swaps by itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
from pathlib import Path

import click
from flask import Flask
from waitress import serve as waitress_serve

from search.config import Settings
from web import create_app, index

#: Worker threads per process: enough to overlap the waits of a few requests.
THREADS = 4
_PR_SET_PDEATHSIG = 1


@click.command(name="serve")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
              help="Index folder (default: $SEARCH_INDEX_DIR or index/).")
@click.option("--host", default=None, help="Address to listen on (default: $SEARCH_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: $SEARCH_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Server processes (default: $SEARCH_WORKERS or one per core).")
def serve_command(index_dir: Path | None, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the search site over the index."""
    settings = Settings.from_env()
    index_dir = index_dir or settings.index_dir
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    # A process per core already keeps every core busy under load: a query's model call
    # on a second thread only costs more CPU (short queries: 4.4 ms of CPU on two
    # threads against 2.9 ms on one, for 0.2 ms less wait).
    model_threads = 0 if workers == 1 else max(1, (os.cpu_count() or 1) // workers)
    # Made before the fork, so the code (2.4 s of CPU to import) is loaded once and its
    # memory shared; each process still opens the index and the model itself.
    app = create_app(index_dir, config={"MODEL_THREADS": model_threads})
    if workers == 1:
        index.open_now(app)
        listener = _listen(host, port, shared=False)
        click.echo(f"Serving {index_dir} on http://{host}:{port}/", err=True)
        _serve(app, listener)
        return
    # Bound, never listening: it fails now, in the parent, if the port is taken, and holds
    # the port for the children without receiving any of its connections.
    reservation = _listen(host, port, shared=True, backlog=None)
    click.echo(f"Serving {index_dir} on http://{host}:{port}/ with {workers} processes", err=True)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _die_with_parent()
            reservation.close()
            index.open_now(app)  # before listening: no connection waits for a process to start
            _serve(app, _listen(host, port, shared=True))
            os._exit(0)
        children.append(pid)
    _supervise(children)


def _listen(host: str, port: int, shared: bool, backlog: int | None = 1024) -> socket.socket:
    """A socket bound to the address, listening unless ``backlog`` is None; with
    ``shared``, one of several (``SO_REUSEPORT``) the kernel balances connections over."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if backlog is not None:
            sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _serve(app: Flask, listener: socket.socket) -> None:
    waitress_serve(app, sockets=[listener], threads=THREADS)


def _die_with_parent() -> None:
    """Ask Linux to stop this process when its parent dies, even by ``kill -9``, so no
    orphan keeps serving the port."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's signal handler still stops its children


def _supervise(children: list[int]) -> None:
    """Wait for the server processes; a signal to this one stops them all."""
    def stop(signum: int, frame: object) -> None:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while children:
        pid, _ = os.wait()
        if pid in children:
            children.remove(pid)
            stop(signal.SIGTERM, None)  # one died: stop the rest rather than serve with fewer


def main() -> None:
    """Console-script entry point."""
    serve_command()
