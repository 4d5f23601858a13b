"""Password hashing: Argon2id, parameters stored in the hash, weak passwords refused."""

from __future__ import annotations

import argon2
import pytest

from gateway.auth.passwords import PasswordHasher, WeakPassword

CHEAP = argon2.Parameters(
    type=argon2.Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8, parallelism=1
)


def test_hash_is_salted_argon2id_with_its_parameters() -> None:
    hasher = PasswordHasher()
    first, second = hasher.hash("Welcome123"), hasher.hash("Welcome123")
    assert first != second  # salted
    assert first.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hasher.verify(first, "Welcome123").ok
    assert not hasher.verify(first, "welcome123").ok


def test_old_parameters_ask_for_a_rehash() -> None:
    old_hash = PasswordHasher(CHEAP).hash("Welcome123")
    result = PasswordHasher().verify(old_hash, "Welcome123")
    assert result.ok and result.needs_rehash


def test_garbage_hash_fails_closed() -> None:
    assert not PasswordHasher().verify("not-a-hash", "whatever1").ok


def test_short_passwords_are_refused() -> None:
    with pytest.raises(WeakPassword):
        PasswordHasher().hash("short")
