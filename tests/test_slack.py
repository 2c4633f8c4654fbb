"""mailsup.slack through the real slack_sdk client against the local Slack double."""

from __future__ import annotations

import logging
import time

import pytest

from mailsup.slack import SlackError, make_client, retry_after_seconds, send_dm
from mailsup.testing.slack_api import SlackDouble


def client_for(double: SlackDouble, token: str | None = None):
    client = make_client(token or double.token, double.base_url)
    assert client is not None
    return client


def test_dm_goes_through_slack_sdk_to_the_double(slack_double: SlackDouble) -> None:
    ts = send_dm(client_for(slack_double), "U123", "Your SUP is still open")

    assert ts == slack_double.messages[0].ts
    (message,) = slack_double.messages
    assert (message.channel, message.user, message.text) == ("DU123", "U123", message.text)
    assert message.text == "Your SUP is still open"
    opened, posted = slack_double.requests
    assert (opened.endpoint, opened.content_type) == (
        "conversations.open",
        "application/x-www-form-urlencoded",
    )
    assert opened.params == {"users": "U123"}
    assert (posted.endpoint, posted.content_type) == ("chat.postMessage", "application/json")
    assert posted.params == {"channel": "DU123", "text": "Your SUP is still open"}
    assert {r.token for r in slack_double.requests} == {slack_double.token}


def test_channel_cache_saves_the_second_conversations_open(slack_double: SlackDouble) -> None:
    client, cache = client_for(slack_double), {}

    send_dm(client, "U1", "first", cache)
    send_dm(client, "U1", "second", cache)
    send_dm(client, "U2", "other", cache)

    assert cache == {"U1": "DU1", "U2": "DU2"}
    assert slack_double.count("conversations.open") == 2
    assert [m.text for m in slack_double.messages] == ["first", "second", "other"]


def test_without_a_cache_every_dm_opens_the_channel(slack_double: SlackDouble) -> None:
    client = client_for(slack_double)

    send_dm(client, "U1", "first")
    send_dm(client, "U1", "second")

    assert slack_double.count("conversations.open") == 2


def test_429_with_retry_after_is_retried_then_succeeds(slack_double: SlackDouble) -> None:
    slack_double.rate_limit(times=1, retry_after=1, endpoint="chat.postMessage")

    started = time.monotonic()
    ts = send_dm(client_for(slack_double), "U1", "hello")

    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert ts == slack_double.messages[0].ts
    assert slack_double.count("chat.postMessage") == 2


def test_long_retry_after_gives_up_at_once(slack_double: SlackDouble) -> None:
    """A tick must not stall: a long Retry-After becomes an error for the next tick."""
    slack_double.rate_limit(times=1, retry_after=120)

    started = time.monotonic()
    with pytest.raises(SlackError) as caught:
        send_dm(client_for(slack_double), "U1", "hello")

    assert time.monotonic() - started < 5
    assert caught.value.retry_after == 120
    assert caught.value.error == "ratelimited"
    assert str(caught.value) == (
        "conversations.open failed: rate limited (HTTP 429, Retry-After 120s)"
    )
    assert slack_double.count("conversations.open") == 1


def test_repeated_429_stops_after_the_retry_cap(slack_double: SlackDouble) -> None:
    slack_double.rate_limit(times=5, retry_after=0)

    with pytest.raises(SlackError, match="rate limited"):
        send_dm(client_for(slack_double), "U1", "hello")

    assert slack_double.count("conversations.open") == 2  # one try + one retry


def test_ok_false_becomes_slack_error_with_the_code(slack_double: SlackDouble) -> None:
    slack_double.fail("user_not_found", endpoint="conversations.open")

    with pytest.raises(SlackError) as caught:
        send_dm(client_for(slack_double), "U404", "hello")

    assert str(caught.value) == "conversations.open failed: user_not_found"
    assert caught.value.error == "user_not_found"
    assert slack_double.messages == []


def test_unknown_user_is_user_not_found() -> None:
    with SlackDouble(known_users={"U1"}) as double:
        with pytest.raises(SlackError, match="user_not_found"):
            send_dm(client_for(double), "U2", "hello")


def test_wrong_token_becomes_slack_error(slack_double: SlackDouble) -> None:
    with pytest.raises(SlackError, match="conversations.open failed: invalid_auth"):
        send_dm(client_for(slack_double, token="xoxb-wrong"), "U1", "hello")


def test_failed_post_drops_the_cached_channel(slack_double: SlackDouble) -> None:
    client, cache = client_for(slack_double), {}
    send_dm(client, "U1", "first", cache)
    slack_double.fail("channel_not_found", endpoint="chat.postMessage")

    with pytest.raises(SlackError, match="chat.postMessage failed: channel_not_found"):
        send_dm(client, "U1", "second", cache)
    assert cache == {}

    send_dm(client, "U1", "third", cache)
    assert slack_double.count("conversations.open") == 2


def test_server_error_becomes_slack_error(slack_double: SlackDouble) -> None:
    slack_double.down("500")

    with pytest.raises(SlackError) as caught:
        send_dm(client_for(slack_double), "U1", "hello")

    assert str(caught.value) == "conversations.open failed: HTTP 500"
    slack_double.up()
    assert send_dm(client_for(slack_double), "U1", "hello")


def test_connection_refused_becomes_slack_error(slack_double: SlackDouble) -> None:
    client = client_for(slack_double)
    slack_double.down("refused")

    with pytest.raises(SlackError) as caught:
        send_dm(client, "U1", "hello")

    message = str(caught.value)
    assert message.startswith("conversations.open failed: connection error:")
    assert "\n" not in message
    slack_double.up()
    assert send_dm(client, "U1", "back") == slack_double.messages[0].ts


@pytest.mark.parametrize("token", [None, "", "   "])
def test_no_token_no_slack(token: str | None) -> None:
    assert make_client(token, "http://127.0.0.1:9/api/") is None


def test_client_uses_base_url_and_mailsup_retry_policy(slack_double: SlackDouble) -> None:
    client = client_for(slack_double)

    assert client.base_url == slack_double.base_url
    handler_names = [type(h).__name__ for h in client.retry_handlers]
    assert handler_names == ["ConnectionErrorRetryHandler", "CappedRateLimitRetryHandler"]


def test_retry_after_parsing() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3
    assert retry_after_seconds({"retry-after": ["0"]}) == 0
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_seconds({}) is None


def test_rate_limited_retry_is_logged(slack_double: SlackDouble, caplog) -> None:
    slack_double.rate_limit(times=1, retry_after=0)

    with caplog.at_level(logging.INFO, logger="mailsup.slack"):
        send_dm(client_for(slack_double), "U1", "hello")

    assert any("rate limited" in r.getMessage() for r in caplog.records)
