"""Settings: PW_ variables in nested groups, validated at start-up."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from pydantic import ValidationError

from pricewatch.config import load_settings


def test_nested_groups_come_from_pw_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW_FETCH_MAX_BYTES", "1024")
    monkeypatch.setenv("PW_FETCH_ALLOW_HOSTS", "127.0.0.1, shop.lan ,10.1.0.0/16")
    monkeypatch.setenv("PW_BROWSER_EXECUTABLE_PATH", "/opt/chromium")
    monkeypatch.setenv("PW_DATA_DIR", "/srv/pricewatch")
    settings = load_settings()
    assert settings.fetch.max_bytes == 1024
    assert settings.fetch.allow_hosts == ["127.0.0.1", "shop.lan", "10.1.0.0/16"]
    assert settings.fetch.allowed_hostnames == frozenset({"shop.lan"})
    assert ipaddress.ip_network("10.1.0.0/16") in settings.fetch.allowed_networks
    assert settings.browser.executable_path == Path("/opt/chromium")
    assert settings.data_dir == Path("/srv/pricewatch")


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PW_LOG_LEVEL=debug\nPW_RUN_CONCURRENCY=3\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.log_level == "debug"
    assert settings.run.concurrency == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [("PW_FETCH_MAX_BYTES", "-5"), ("PW_BROWSER_MODE", "sometimes"), ("PW_LOG_LEVEL", "loud")],
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        load_settings()
