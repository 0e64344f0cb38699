import base64
import os

import pytest

from fieldstone.webhooks.adapters.secret_box import SecretBox, SecretBoxError, decode_key

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def test_round_trip_without_the_plaintext_at_rest() -> None:
    box = SecretBox(os.urandom(32))
    sealed = box.seal(SECRET, "whep_1")
    assert SECRET.encode() not in sealed
    assert box.open(sealed, "whep_1") == SECRET


def test_each_seal_uses_a_fresh_nonce() -> None:
    box = SecretBox(os.urandom(32))
    assert box.seal(SECRET, "whep_1") != box.seal(SECRET, "whep_1")


def test_secret_is_bound_to_its_endpoint() -> None:
    box = SecretBox(os.urandom(32))
    with pytest.raises(SecretBoxError):
        box.open(box.seal(SECRET, "whep_1"), "whep_2")


def test_wrong_key_or_tampering_does_not_open() -> None:
    sealed = SecretBox(os.urandom(32)).seal(SECRET, "whep_1")
    with pytest.raises(SecretBoxError):
        SecretBox(os.urandom(32)).open(sealed, "whep_1")
    box = SecretBox(os.urandom(32))
    tampered = bytearray(box.seal(SECRET, "whep_1"))
    tampered[-1] ^= 1
    with pytest.raises(SecretBoxError):
        box.open(bytes(tampered), "whep_1")


def test_key_must_be_base64_of_32_bytes() -> None:
    assert decode_key(base64.b64encode(b"k" * 32).decode()) == b"k" * 32
    with pytest.raises(ValueError, match="32 bytes"):
        decode_key(base64.b64encode(b"k" * 16).decode())
    with pytest.raises(ValueError, match="base64"):
        decode_key("not base64!")
