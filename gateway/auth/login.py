"""Admin login, token verification and renewal (``/api/authentication/*``)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from gateway.auth.passwords import PasswordHasher
from gateway.auth.throttle import LoginThrottle
from gateway.auth.tokens import INVALID_TOKEN, decode_token, issue_token
from gateway.auth.users import User, UserStore, normalize_username
from gateway.clock import SYSTEM_CLOCK, Clock
from gateway.errors import NotAuthenticated, NotPermitted, TooManyAttempts

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "Invalid username or password."


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
        jwt_key: bytes,
        token_ttl: dt.timedelta,
        admin_group: str,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.users = users
        self.hasher = hasher
        self.throttle = throttle
        self._jwt_key = jwt_key
        self._ttl = token_ttl
        self.admin_group = admin_group
        self._clock = clock

    def _issue(self, user: User) -> LoginResult:
        profile = {k: v for k, v in user.profile().items() if k != "controls"}
        token = issue_token(self._jwt_key, user.username, profile, self._ttl, self._clock.now())
        return LoginResult(user, token)

    async def login(self, username: str, password: str, client: str) -> LoginResult:
        account = normalize_username(username)
        reservation = self.throttle.reserve(account, client)
        if reservation is None:  # refused before any hashing, so floods cost us nothing
            wait = self.throttle.retry_after(account, client) or 1
            raise TooManyAttempts("Too many failed logins; try again later.", retry_after=wait)
        try:
            user = await self.users.get(account)
            usable = user is not None and not user.disabled
            check = await self.hasher.verify_async(user.password_hash if usable and user else None, password)
        except BaseException:  # Elasticsearch unreachable, request cancelled: not a guess
            self.throttle.release(reservation)
            raise
        if not check.ok or user is None or not usable:
            log.info("failed login for an account from %s", client)  # the reservation stays counted
            raise NotAuthenticated(BAD_CREDENTIALS)
        self.throttle.release(reservation)
        self.throttle.record_success(account, client)
        if check.needs_rehash:
            await self.users.set_password_hash(user.username, await self.hasher.hash_async(password))
            log.info("upgraded the password hash parameters of %s", user.username)
        return self._issue(user)

    async def user_for_token(self, token: str) -> tuple[User, dict[str, Any]]:
        """The live user behind a bearer token: deleted or disabled users lose access at once."""
        claims = decode_token(self._jwt_key, token, self._clock.now())
        user = await self.users.get(str(claims["sub"]))
        if user is None or user.disabled:
            raise NotAuthenticated(INVALID_TOKEN, scheme="Bearer")
        return user, claims

    def require_admin(self, user: User) -> User:
        if self.admin_group not in user.groups:
            raise NotPermitted(f"Administering API keys needs membership of the '{self.admin_group}' group.")
        return user

    def renew(self, user: User) -> LoginResult:
        return self._issue(user)
