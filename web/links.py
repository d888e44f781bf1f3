"""Links to variations of the current search: the pages' facet, sort and page links and the
feed's ``next``/``previous`` and ``alternate`` links.

A results page has some sixty links, all variations of one query string: the request's
parameters are read, and each pair and path made, once per request (``url_for`` and
``urlencode`` for each link took a fifth of the page's time).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from flask import g, request, url_for
from werkzeug.datastructures import MultiDict

from search.query import PARAMETERS


def link(base: str, args: MultiDict, toggle: tuple[str, str] | None = None, drop: tuple[str, ...] = (),
         **changes: Any) -> str:
    """``base`` with the query string of ``args`` changed, in this order: the ``toggle``
    (name, value) added if absent and removed if present, the ``drop`` parameters removed,
    each of ``changes`` set to its one value (None removes it).

    The other parameters keep their order; pairs are encoded as a form encodes them.
    """
    args = args.copy()
    if toggle is not None:
        name, value = toggle
        values = args.getlist(name)
        args.setlist(name, [v for v in values if v != value] if value in values else values + [value])
    for name in drop:
        args.poplist(name)
    for name, value in changes.items():
        args.setlist(name, [] if value is None else [str(value)])
    # One look-up of the request's cache per link: each use of ``g`` goes through a proxy.
    known = g.setdefault("encoded_pairs", {})
    query = "&".join(_encoded(known, name, value) for name, value in args.items(multi=True))
    return base + ("?" + query if query else "")


def search_args() -> MultiDict:
    """The request's search parameters (:data:`search.query.PARAMETERS`): what ``url_for``
    adds (``_external``, ``_scheme``) and any unknown parameter are left out."""
    if "search_args" not in g:
        g.search_args = MultiDict((n, v) for n, v in request.args.items(multi=True) if n in PARAMETERS)
    return g.search_args


def path(endpoint: str) -> str:
    """The path of ``endpoint`` (one without arguments), made once per request."""
    paths = g.setdefault("endpoint_paths", {})
    if endpoint not in paths:
        paths[endpoint] = url_for(endpoint)
    return paths[endpoint]


def _encoded(known: dict[tuple[str, str], str], name: str, value: str) -> str:
    """``name=value`` as a query string holds it, from ``known`` when made before."""
    if (name, value) not in known:
        known[name, value] = quote_plus(name) + "=" + quote_plus(value)
    return known[name, value]
