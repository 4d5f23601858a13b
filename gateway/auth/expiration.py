"""When an API key stops working: the one parser of ``expiration`` values (createApiToken, updateApiToken)."""

from __future__ import annotations

import datetime as dt
import re


class InvalidExpiration(ValueError):
    """An expiration that is malformed or not in the future."""


# The furthest a key's expiration may lie ahead: longer than any real use, and far inside what dates hold.
MAX_EXPIRATION_YEARS = 100
MAX_EXPIRATION = dt.timedelta(days=36_525)


# What an expiration may look like (Python's fromisoformat alone also takes week dates like 2099-W01-1,
# non-ASCII digits and more): a calendar date in either ISO form, or a date-time with an optional offset.
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8}"
_DATE_TIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
EXPIRATION_FORMAT = re.compile(f"{_DATE}|{_DATE_TIME}")


def parse_expiration(value: str, now: dt.datetime) -> dt.datetime:
    """When a key stops working (exclusive). A date, in either ISO-8601 form (``2027-01-02``, ``20270102``),
    is valid through the end of that day, UTC; a date-time until that instant (UTC unless it has an offset).
    """
    text = value.strip()
    try:
        if not EXPIRATION_FORMAT.fullmatch(text):
            raise ValueError(text)
        expires = _end_of(text)
    except ValueError as exc:
        raise InvalidExpiration(
            f"expiration {value!r} is not a date (YYYY-MM-DD) or an ISO-8601 date-time"
        ) from exc
    except OverflowError:  # the day after 9999-12-31, or an offset past it
        expires = dt.datetime.max.replace(tzinfo=dt.UTC)
    if expires <= now:
        raise InvalidExpiration(f"expiration {value!r} is in the past")
    if expires - now > MAX_EXPIRATION:
        raise InvalidExpiration(f"expiration {value!r} is more than {MAX_EXPIRATION_YEARS} years ahead")
    return expires


def _end_of(text: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        parsed = dt.datetime.fromisoformat(text)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
