"""Admin login, token verification, renewal and logout (``/api/authentication/*``).

Logins (succeeded, failed, throttled) and logouts go to the audit trail, by account and client address;
a failed login names its account only when one by that name exists (a password typed into the user name
field is never recorded), and a throttled one is only counted per client and minute.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from gateway.audit.trail import AuditTrail
from gateway.auth.passwords import PasswordHasher
from gateway.auth.sessions import SessionStore, new_sid
from gateway.auth.throttle import LoginThrottle
from gateway.auth.tokens import INVALID_TOKEN, SessionClaims, decode_token, issue_token
from gateway.auth.users import User, UserStore, normalize_username
from gateway.clock import SYSTEM_CLOCK, Clock
from gateway.errors import NotAuthenticated, NotPermitted, TooManyAttempts

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "Invalid username or password."
TIDY_EVERY = 3600.0  # seconds between removals of expired sessions, per replica


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str

    def body(self) -> dict[str, Any]:
        return {"user": self.user.profile(), "token": self.token}


class Authenticator:
    def __init__(
        self,
        users: UserStore,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        sessions: SessionStore,
        jwt_key: bytes,
        token_ttl: dt.timedelta,
        session_lifetime: dt.timedelta,
        admin_group: str,
        audit: AuditTrail,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.users = users
        self.hasher = hasher
        self.throttle = throttle
        self.sessions = sessions
        self._jwt_key = jwt_key
        self._ttl = token_ttl
        self._lifetime = session_lifetime
        self.admin_group = admin_group
        self._audit = audit
        self._clock = clock
        self._tidied_at = float("-inf")

    def _issue(self, user: User, session: SessionClaims, now: dt.datetime) -> LoginResult:
        profile = {k: v for k, v in user.profile().items() if k != "controls"}
        token = issue_token(self._jwt_key, user.username, profile, self._ttl, now, session)
        return LoginResult(user, token)

    async def _start_session(self, user: User, epoch: str, now: dt.datetime) -> SessionClaims:
        auth_time = int(now.timestamp())
        session = SessionClaims(
            new_sid(), auth_time, dt.datetime.fromtimestamp(auth_time, dt.UTC) + self._lifetime
        )
        await self.sessions.create(session.sid, user.username, epoch, now, session.ends)
        if self._clock.monotonic() - self._tidied_at > TIDY_EVERY:
            self._tidied_at = self._clock.monotonic()
            await self.sessions.delete_expired(now)
        return session

    async def login(self, username: str, password: str, client: str) -> LoginResult:
        account = normalize_username(username)
        reservation = self.throttle.reserve(account, client)
        if reservation is None:  # refused before any hashing, so floods cost us nothing
            wait = self.throttle.retry_after(account, client) or 1
            self._audit.throttled(client)
            raise TooManyAttempts("Too many failed logins; try again later.", retry_after=wait)
        try:
            # The epoch is read before the user: a password change writes the new hash before the new epoch,
            # so a login that checked the old password can only have read the old epoch.
            epoch = await self.sessions.epoch(account)
            user = await self.users.get(account)
            usable = user is not None and not user.disabled
            check = await self.hasher.verify_async(user.password_hash if usable and user else None, password)
        except BaseException:  # Elasticsearch unreachable, request cancelled: not a guess
            self.throttle.release(reservation)
            raise
        if not check.ok or user is None or not usable:
            log.info("failed login for an account from %s", client)  # the reservation stays counted
            actor = user.username if user is not None else None
            await self._audit.record("login", "failure", actor=actor, address=client)
            raise NotAuthenticated(BAD_CREDENTIALS)
        self.throttle.release(reservation)
        self.throttle.record_success(account, client)
        if check.needs_rehash:
            await self.users.set_password_hash(user.username, await self.hasher.hash_async(password))
            log.info("upgraded the password hash parameters of %s", user.username)
        now = self._clock.now()
        result = self._issue(user, await self._start_session(user, epoch, now), now)
        await self._audit.record("login", actor=user.username, address=client)
        return result

    async def user_for_token(self, token: str) -> tuple[User, dict[str, Any]]:
        """The live user and session behind a bearer token, read from Elasticsearch on every call.

        Deleted or disabled users, ended sessions (logout, revocation, absolute lifetime) lose access at
        once, on every replica; Elasticsearch being away is an error here, never a pass.
        """
        now = self._clock.now()
        claims = decode_token(self._jwt_key, token, now)
        username = str(claims["sub"])
        user, session, epoch = await asyncio.gather(
            self.users.get(username), self.sessions.get(claims["sid"]), self.sessions.epoch(username)
        )
        if (
            user is None
            or user.disabled
            or session is None
            or not session.valid_for(user.username, epoch, now)
        ):
            raise NotAuthenticated(INVALID_TOKEN, scheme="Bearer")
        return user, claims

    def require_admin(self, user: User) -> User:
        if self.admin_group not in user.groups:
            raise NotPermitted(f"Administering API keys needs membership of the '{self.admin_group}' group.")
        return user

    def renew(self, user: User, claims: dict[str, Any]) -> LoginResult:
        """A fresh token of the same session: renewals never pass the session's absolute end."""
        auth_time = int(claims["auth_time"])
        ends = dt.datetime.fromtimestamp(auth_time, dt.UTC) + self._lifetime
        return self._issue(user, SessionClaims(str(claims["sid"]), auth_time, ends), self._clock.now())

    async def logout(self, claims: dict[str, Any], address: str | None = None) -> None:
        await self.sessions.end(str(claims["sid"]))
        await self._audit.record("logout", actor=str(claims["sub"]), address=address)
