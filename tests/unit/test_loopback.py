"""One loopback rule (pipeline.loopback) for serve and the base-URL checks, and one account key
for the history and the events."""

from __future__ import annotations

import pytest

from pipeline import loopback, records
from pipeline.errors import ConfigError

LOOPBACK = ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "localhost.", "ip6-localhost"]
LOOPBACK += ["::ffff:127.0.0.1", "localhost.localdomain"]
ELSEWHERE = ["0.0.0.0", "::", "192.168.1.2", "example.com", "localhost.example.com", "127.0.0.1.nip.io", ""]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_hosts(host: str) -> None:
    assert loopback.is_loopback(host)


@pytest.mark.parametrize("host", ELSEWHERE)
def test_other_hosts(host: str) -> None:
    assert not loopback.is_loopback(host)


def test_serve_and_the_base_url_check_use_the_same_rule() -> None:
    from pipeline.live import endpoints
    from pipeline.service import exporter

    assert endpoints.is_loopback is loopback.is_loopback and exporter.is_loopback is loopback.is_loopback


@pytest.mark.parametrize("host", ["LOCALHOST", "ip6-localhost", "[::1]", "127.0.0.1"])
def test_plain_http_goes_to_every_loopback_host(host: str) -> None:
    from pipeline.live.endpoints import check_url

    check_url(f"http://{host}:8080/backend-api", "CODEX_AUTH_BASE_URL")


@pytest.mark.parametrize("host", ["example.com", "0.0.0.0", "localhost.example.com"])
def test_plain_http_elsewhere_is_refused(host: str) -> None:
    from pipeline.live.endpoints import check_url

    with pytest.raises(ConfigError, match="must be an https URL"):
        check_url(f"http://{host}:8080/backend-api", "CODEX_AUTH_BASE_URL")


def test_one_account_key_for_the_history_and_the_events() -> None:
    from pipeline.history import samples
    from pipeline.service import events

    assert samples.account_key is records.account_key and events.account_key is records.account_key
    assert records.account_key({"accountId": "a", "email": "Ann@X.com"}) == "a|ann@x.com"
    assert records.account_key({"index": 3}) == "#3"


def test_the_state_file_key_keeps_its_stored_form() -> None:
    from pipeline.storage.state import flagged_key

    assert flagged_key(" a ", " Ann@X.com ") == "a|ann@x.com" == records.identity_key("a", "ann@x.com")
    assert flagged_key(None, None) == "|"
