"""Settings from the environment: READ_DATABASE_URL (a streaming replica for projection reads)."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError


def test_read_database_url_is_optional() -> None:
    assert Settings.from_env({}).read_database_url is None
    assert Settings.from_env({"READ_DATABASE_URL": " "}).read_database_url is None


def test_read_database_url_is_read() -> None:
    url = "postgresql://accordlog_app@replica:5432/accordlog"
    assert Settings.from_env({"READ_DATABASE_URL": url}).read_database_url == url


def test_a_read_database_url_that_is_not_one_is_refused_by_name_without_echoing_it() -> None:
    with pytest.raises(SettingsError, match="READ_DATABASE_URL") as refused:
        Settings.from_env({"READ_DATABASE_URL": "replica:5432 password=hunter2"})
    assert "hunter2" not in str(refused.value)
