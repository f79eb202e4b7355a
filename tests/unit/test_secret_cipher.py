"""Encryption at rest of secrets that must be sent later."""

from __future__ import annotations

import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from infrastructure.secret_cipher import SecretCipher, SecretCipherError

PLAINTEXT = "wms-pull-secret-Ünïcødé-42"
LONG_RANDOM_STRING = "t9Vq2Lr8Xw4Zp1Kd7Hs3Nb6Mf0Gc5Jy-e_aUoQ"


def test_a_secret_survives_an_encrypt_decrypt_round_trip() -> None:
    cipher = SecretCipher(Fernet.generate_key())

    assert cipher.decrypt(cipher.encrypt(PLAINTEXT)) == PLAINTEXT


def test_the_token_is_ascii_text_that_does_not_contain_the_plaintext() -> None:
    cipher = SecretCipher(Fernet.generate_key())

    token = cipher.encrypt("plain-secret-value")

    assert token.isascii()
    assert "plain-secret-value" not in token


def test_encrypting_the_same_secret_twice_gives_different_tokens() -> None:
    cipher = SecretCipher(Fernet.generate_key())

    assert cipher.encrypt(PLAINTEXT) != cipher.encrypt(PLAINTEXT)


def test_another_key_cannot_decrypt_the_token() -> None:
    token = SecretCipher(Fernet.generate_key()).encrypt(PLAINTEXT)

    with pytest.raises(SecretCipherError):
        SecretCipher(Fernet.generate_key()).decrypt(token)


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "non_ascii"])
def test_a_damaged_token_is_a_cipher_error(damage: str) -> None:
    cipher = SecretCipher(Fernet.generate_key())
    token = cipher.encrypt(PLAINTEXT)
    damaged = {
        "flip": token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:],
        "truncate": token[:20],
        "garbage": "not a token",
        "non_ascii": token + "é",
    }[damage]

    with pytest.raises(SecretCipherError):
        cipher.decrypt(damaged)


def test_an_invalid_fernet_key_is_refused() -> None:
    with pytest.raises(SecretCipherError):
        SecretCipher(b"too-short")


def test_a_missing_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "state" / "secret.key"

    token = SecretCipher.from_settings(None, key_file).encrypt(PLAINTEXT)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    written = key_file.read_text()
    assert SecretCipher.from_settings(None, key_file).decrypt(token) == PLAINTEXT
    assert key_file.read_text() == written
    assert [entry.name for entry in key_file.parent.iterdir()] == ["secret.key"]


def test_concurrent_first_starts_agree_on_one_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    workers = 8
    start_together = threading.Barrier(workers)

    def construct(_: int) -> SecretCipher:
        start_together.wait()
        return SecretCipher.from_settings(None, key_file)

    with ThreadPoolExecutor(workers) as pool:
        ciphers = list(pool.map(construct, range(workers)))

    token = ciphers[0].encrypt(PLAINTEXT)
    assert all(cipher.decrypt(token) == PLAINTEXT for cipher in ciphers)
    assert SecretCipher.from_settings(None, key_file).decrypt(token) == PLAINTEXT


def test_an_existing_key_file_is_read(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    key_file = tmp_path / "secret.key"
    key_file.write_bytes(key + b"\n")
    os.chmod(key_file, 0o600)

    token = SecretCipher.from_settings(None, key_file).encrypt(PLAINTEXT)

    assert SecretCipher(key).decrypt(token) == PLAINTEXT


def test_a_blank_secret_key_falls_back_to_the_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"

    SecretCipher.from_settings("  ", key_file)

    assert key_file.exists()


def test_a_configured_fernet_key_is_used_as_is_and_no_key_file_is_made(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    key_file = tmp_path / "secret.key"

    token = SecretCipher.from_settings(key.decode(), key_file).encrypt(PLAINTEXT)

    assert SecretCipher(key).decrypt(token) == PLAINTEXT
    assert not key_file.exists()


def test_a_long_non_fernet_string_derives_the_same_key_every_time(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"

    token = SecretCipher.from_settings(LONG_RANDOM_STRING, key_file).encrypt(PLAINTEXT)

    assert SecretCipher.from_settings(LONG_RANDOM_STRING, key_file).decrypt(token) == PLAINTEXT
    with pytest.raises(SecretCipherError):
        SecretCipher.from_settings(LONG_RANDOM_STRING + "x", key_file).decrypt(token)
    assert not key_file.exists()


def test_a_short_non_fernet_string_is_refused_as_a_key(tmp_path: Path) -> None:
    with pytest.raises(SecretCipherError):
        SecretCipher.from_settings("hunter2", tmp_path / "secret.key")


def test_comma_separated_keys_encrypt_with_the_first_and_decrypt_with_all(tmp_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    key_file = tmp_path / "secret.key"
    old_token = SecretCipher(old).encrypt(PLAINTEXT)

    rotated = SecretCipher.from_settings(f"{new.decode()}, {old.decode()}", key_file)

    assert rotated.decrypt(old_token) == PLAINTEXT
    with pytest.raises(SecretCipherError):
        SecretCipher(old).decrypt(rotated.encrypt(PLAINTEXT))
    assert SecretCipher(new).decrypt(rotated.rotate(old_token)) == PLAINTEXT


def test_error_messages_never_contain_the_key(tmp_path: Path) -> None:
    short_key = "short-but-secret"

    with pytest.raises(SecretCipherError) as caught:
        SecretCipher.from_settings(short_key, tmp_path / "secret.key")

    assert short_key not in str(caught.value)
