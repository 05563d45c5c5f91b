"""The pure parts of notifications: capabilities, addresses, preferences, rules, sealing,
the answer page — data in, data out."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime

import pytest

from tether.errors import ConfigError, Forbidden
from tether.notify import rules
from tether.notify.addresses import check_destination, check_push_endpoint, is_public
from tether.notify.answer_page import confirm_page, visible
from tether.notify.answers import Answer
from tether.notify.capability import Capability, CapabilityRefused, mint, verify
from tether.notify.contract import shorten_input
from tether.notify.prefs import Preferences, QuietHours, parse_events
from tether.notify.sealing import seal, unseal
from tether.notify.sinks import Outcome, ntfy, outcome_of

KEY = os.urandom(32)
CAP = Capability("s_1", "req-1", "allow", "u_1", "nk_1", expires_at=1000.0)


def test_a_capability_verifies_until_it_expires() -> None:
    token = mint(KEY, CAP)
    assert verify(KEY, token, now=999.0) == CAP
    with pytest.raises(CapabilityRefused, match="expired"):
        verify(KEY, token, now=1000.0)


def test_two_capabilities_for_the_same_decision_differ() -> None:
    assert mint(KEY, CAP) != mint(KEY, CAP)


@pytest.mark.parametrize("how", ["flip-claims", "flip-signature", "other-key", "truncated", "junk"])
def test_a_tampered_capability_is_refused(how: str) -> None:
    prefix, claims, signature = mint(KEY, CAP).split(".")
    if how == "flip-claims":
        data = json.loads(base64.urlsafe_b64decode(claims + "=="))
        data["b"] = "deny"
        claims = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        token = f"{prefix}.{claims}.{signature}"
    elif how == "flip-signature":
        token = f"{prefix}.{claims}.{signature[:-2]}AA"
    elif how == "other-key":
        token = mint(os.urandom(32), CAP)
    elif how == "truncated":
        token = f"{prefix}.{claims}"
    else:
        token = "c1." + "A" * 5000
    with pytest.raises(CapabilityRefused):
        verify(KEY, token, now=0.0)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("172.16.5.5", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fd00::1", False),
        ("fe80::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


async def test_an_ordinary_user_cannot_target_this_host_or_the_lan() -> None:
    for url in (
        "http://127.0.0.1:8765/v1/sessions",
        "https://localhost/hook",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.2:9200/",
    ):
        with pytest.raises(Forbidden, match="only an admin"):
            await check_destination(url, trusted=False)
        await check_destination(url, trusted=True)  # an admin may


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "javascript:alert(1)", "https://", "https://u:p@host/x", "x" * 3000],
)
async def test_a_malformed_sink_url_is_refused_with_what_is_wrong(url: str) -> None:
    with pytest.raises(ConfigError):
        await check_destination(url, trusted=True)


async def test_push_endpoints_are_https_except_loopback_on_a_loopback_hub() -> None:
    await check_push_endpoint("http://127.0.0.1:5000/p", trusted=True, hub_on_loopback=True)
    with pytest.raises(ConfigError, match="https"):
        await check_push_endpoint("http://127.0.0.1:5000/p", trusted=True, hub_on_loopback=False)
    with pytest.raises(ConfigError, match="https"):
        await check_push_endpoint("http://push.example/p", trusted=True, hub_on_loopback=True)
    with pytest.raises(Forbidden):
        await check_push_endpoint("http://127.0.0.1:5000/p", trusted=False, hub_on_loopback=True)
    with pytest.raises(Forbidden):
        await check_push_endpoint("https://10.0.0.1/p", trusted=False, hub_on_loopback=True)


def _at(hhmm: str, tz: str = "UTC") -> float:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, 6, 1, hours, minutes, tzinfo=UTC).timestamp()


def test_quiet_hours_cross_midnight_in_the_users_zone() -> None:
    night = QuietHours(start="22:00", end="07:00", tz="UTC")
    assert night.contains(_at("23:30")) and night.contains(_at("06:59"))
    assert not night.contains(_at("07:00")) and not night.contains(_at("12:00"))
    berlin = QuietHours(start="22:00", end="07:00", tz="Europe/Berlin")  # UTC+2 in June
    assert berlin.contains(_at("20:30")) and not berlin.contains(_at("19:30"))


def test_bad_preferences_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        QuietHours(start="25:00", end="07:00")
    with pytest.raises(ValueError, match="time zone"):
        QuietHours(start="22:00", end="07:00", tz="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown events"):
        Preferences(events=["everything"])
    with pytest.raises(ConfigError, match="unknown events"):
        parse_events("permission_request,bogus")


def test_preferences_filter_events_teams_and_sessions() -> None:
    prefs = Preferences(events=["permission_request"], teams=["api"])
    assert prefs.wants("permission_request", "api", "s_1")
    assert not prefs.wants("turn_finished", "api", "s_1")
    assert not prefs.wants("permission_request", "web", "s_1")
    assert Preferences(reminder_minutes=0).reminder_s is None


FACTS = rules.SessionFacts("s_1", "demo")


def test_a_permission_request_names_the_tool_and_its_input() -> None:
    note = rules.from_event(
        FACTS,
        7,
        1.0,
        {
            "kind": "permission_request",
            "request_id": "r1",
            "tool": "Bash",
            "input": {"command": "touch x"},
        },
    )
    assert note is not None
    assert (note.event, note.request_id, note.tool, note.input) == (
        "permission_request",
        "r1",
        "Bash",
        {"command": "touch x"},
    )
    assert note.summary == "Bash: touch x"
    assert note.url == "/sessions/s_1"


def test_a_turn_finished_has_status_a_line_of_the_result_and_cost() -> None:
    note = rules.from_event(
        FACTS,
        9,
        1.0,
        {
            "kind": "turn_finished",
            "status": "success",
            "result": "\nAll done.\nmore",
            "cost": 0.0123,
        },
    )
    assert note is not None and note.summary == "finished · All done. · $0.0123"


@pytest.mark.parametrize(
    ("exited", "fails"),
    [
        ({"code": 0}, False),
        ({"code": 3}, True),
        ({"code": None, "signal": 9}, True),
        ({"code": None, "signal": 15, "reason": "stopped"}, False),
    ],
)
def test_only_a_failed_exit_notifies(exited: dict[str, object], fails: bool) -> None:
    assert (rules.from_event(FACTS, 1, 1.0, {"kind": "exited", **exited}) is not None) is fails


def test_a_huge_tool_input_is_shortened_for_a_push() -> None:
    short = shorten_input({"content": "x" * 100_000, "list": list(range(1000))})
    assert len(json.dumps(short)) <= 1100


def test_sealed_secrets_open_only_for_their_sink_and_key() -> None:
    sealed = seal(KEY, {"secret": "s3cret"}, bound_to="nk_1")
    assert "s3cret" not in sealed
    assert unseal(KEY, sealed, bound_to="nk_1") == {"secret": "s3cret"}
    with pytest.raises(ConfigError):
        unseal(KEY, sealed, bound_to="nk_2")
    with pytest.raises(ConfigError):
        unseal(os.urandom(32), sealed, bound_to="nk_1")


def test_the_answer_page_escapes_markup_and_shows_bidi_controls() -> None:
    hostile = "</pre><script>alert(1)</script><img src=x onerror=alert(2)> rm -rf \u202e/ txt.exe"
    page = confirm_page(
        Answer(
            200,
            "",
            "s_1",
            "r1",
            "allow",
            team="<b>team</b>",
            tool="Bash<script>",
            input={"command": hostile},
        )
    )
    assert "<script>" not in page and "<img" not in page and "<b>team" not in page
    assert "\u202e" not in page and "&lt;U+202E&gt;" in page
    assert page.count("<form") == 1 and 'method="post"' in page
    assert visible("a\u2066b") == "a&lt;U+2066&gt;b"


def test_ntfy_gets_http_actions_and_a_topic_from_the_url() -> None:
    assert ntfy.split_topic("https://ntfy.example/base/alerts") == (
        "https://ntfy.example/base/",
        "alerts",
    )
    with pytest.raises(ConfigError):
        ntfy.split_topic("https://ntfy.sh/")
    note = rules.from_event(
        FACTS,
        7,
        1.0,
        {"kind": "permission_request", "request_id": "r1", "tool": "Bash", "input": {}},
    )
    assert note is not None
    body = ntfy.message(note.model_copy(update={"allow_url": "A", "deny_url": "D"}), "t")
    assert [(a["action"], a["label"], a.get("method")) for a in body["actions"]] == [
        ("http", "Allow", "POST"),
        ("http", "Deny", "POST"),
        ("view", "Open", None),
    ]


@pytest.mark.parametrize(
    ("status", "push", "outcome"),
    [
        (200, False, Outcome.SENT),
        (201, True, Outcome.SENT),
        (410, True, Outcome.GONE),
        (404, True, Outcome.GONE),
        (404, False, Outcome.FAILED),
        (429, False, Outcome.RETRY),
        (503, True, Outcome.RETRY),
        (400, False, Outcome.FAILED),
    ],
)
def test_how_receiver_statuses_are_treated(status: int, push: bool, outcome: Outcome) -> None:
    assert outcome_of(status, push=push) is outcome
