"""The view's databases: each case of this package runs on both."""

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def view_url(request, tmp_path) -> str:
    """Each case on both databases a view may live in."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'view.sqlite'}"
    return request.getfixturevalue("postgres_url")
