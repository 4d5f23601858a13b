"""API-key rules that need no cluster: expiration parsing, digests, header forms."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.auth.credentials import Credentials, credentials_from_headers
from gateway.auth.expiration import InvalidExpiration, parse_expiration
from gateway.auth.key_store import generate_key, key_digest

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


def test_a_date_is_valid_through_the_end_of_that_day_utc() -> None:
    assert parse_expiration("2027-01-02", NOW) == dt.datetime(2027, 1, 3, tzinfo=dt.UTC)
    assert parse_expiration("2026-11-26", NOW) == dt.datetime(
        2026, 11, 27, tzinfo=dt.UTC
    )  # today still counts


def test_a_date_in_basic_form_follows_the_same_rule() -> None:
    assert parse_expiration("20270102", NOW) == parse_expiration("2027-01-02", NOW)
    assert parse_expiration("20990101", NOW) == dt.datetime(2099, 1, 2, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value", ["9999-12-31", "99991231", "9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00Z", "2126-11-27"]
)
def test_an_expiration_more_than_a_hundred_years_ahead_is_refused(value: str) -> None:
    with pytest.raises(InvalidExpiration, match="more than 100 years ahead"):
        parse_expiration(value, NOW)
    assert parse_expiration("2126-11-25", NOW) == dt.datetime(2126, 11, 26, tzinfo=dt.UTC)


def test_datetimes_keep_their_offset_and_naive_ones_are_utc() -> None:
    assert parse_expiration("2027-01-02T10:00:00+02:00", NOW) == dt.datetime(2027, 1, 2, 8, tzinfo=dt.UTC)
    assert parse_expiration("2027-01-02T10:00:00Z", NOW) == dt.datetime(2027, 1, 2, 10, tzinfo=dt.UTC)
    assert parse_expiration("2027-01-02T10:00:00", NOW) == dt.datetime(2027, 1, 2, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["2022-01-02", "2026-11-26T11:59:59Z", "2026-11-25"])
def test_past_expirations_are_refused(value: str) -> None:
    with pytest.raises(InvalidExpiration, match="in the past"):
        parse_expiration(value, NOW)


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow",
        "2027-13-01",
        "02/01/2027",
        "",
        "2027-01-02T25:00",
        "2099-W01-1",  # an ISO week date: 2098-12-29, a surprising year
        "2099W011",
        "2099-001",  # an ordinal date
        "\u0662\u0660\u0669\u0669-01-01",  # Arabic-Indic digits
        "+002099-01-01",
        "2099-01-01T00",
        "2027-01-02T10:00:00+0200",
    ],
)
def test_malformed_expirations_are_refused(value: str) -> None:
    with pytest.raises(InvalidExpiration, match="not a date"):
        parse_expiration(value, NOW)


def test_keys_are_random_uuids_and_digests_depend_on_the_secret() -> None:
    key = generate_key()
    assert len(key) == 36 and key != generate_key()
    assert key_digest(b"a" * 32, key) != key_digest(b"b" * 32, key)
    assert len(key_digest(b"a" * 32, key)) == 64 and key not in key_digest(b"a" * 32, key)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-api-key": "k1"}, Credentials("api_key", "k1")),
        ({"authorization": "k2"}, Credentials("api_key", "k2")),
        ({"authorization": "ApiKey k3"}, Credentials("api_key", "k3")),
        ({"authorization": "Bearer t1"}, Credentials("bearer", "t1")),
        ({"authorization": "Bearer t1", "x-api-key": "k4"}, Credentials("api_key", "k4")),
        ({}, None),
        ({"authorization": "  "}, None),
    ],
)
def test_credential_header_forms(headers: dict[str, str], expected: Credentials | None) -> None:
    assert credentials_from_headers(headers) == expected


def test_credentials_never_print_their_value() -> None:
    assert "secret-value" not in repr(Credentials("api_key", "secret-value"))
