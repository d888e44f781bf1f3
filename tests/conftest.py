"""Shared fixtures: the shipped sample indexed once per test session, and the app over it."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from search.reindex import reindex
from web import create_app

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of ``data/sample`` (the seed article and 604 MEDLINE citations)."""
    index = tmp_path_factory.mktemp("sample-index")
    summary = reindex([SAMPLE], index)
    assert summary.ok and summary.added == 605
    return index


@pytest.fixture(scope="session")
def app(sample_index: Path) -> Flask:
    """The site over the sample index."""
    return create_app(sample_index, {"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of :func:`app`."""
    return app.test_client()
