"""Storage files are parsed with orjson, and whatever orjson refuses goes to the standard
parser: the same values and the same error wording as parsing with the standard parser alone."""

from __future__ import annotations

import json
import math

import pytest

from pipeline.storage import jwt
from pipeline.storage.files import Unreadable, decode_json
from testkit import poolkit


@pytest.mark.parametrize(
    "raw",
    [
        b'{"version": 3, "accounts": []}',
        b'\xef\xbb\xbf{"bom": true}',  # a UTF-8 byte-order mark, as some editors write
        b'{"dup": 1, "dup": 2}',
        b'{"text": "caf\\u00e9 \\ud83d\\ude00"}',
    ],
)
def test_same_values_as_the_standard_parser(raw: bytes) -> None:
    assert decode_json(raw) == json.loads(raw.decode("utf-8-sig"))


def test_nan_is_still_read() -> None:
    assert math.isnan(decode_json(b'{"n": NaN}')["n"])


def test_an_integer_past_64_bits_reads_as_a_number() -> None:
    # The one difference from the standard parser: orjson makes it a float (no stored
    # timestamp, index or count comes near 2**64).
    assert decode_json(b'{"big": 123456789012345678901234567890}')["big"] == pytest.approx(1.2345678901234568e29)


@pytest.mark.parametrize(
    ("raw", "message", "where"),
    [
        (b'{"accounts": [}\n', "invalid JSON: expecting value", (1, 15)),
        (b"\n\n\n", "invalid JSON: expecting value", (4, 1)),
        (b'{"a": "\xff"}', "is not UTF-8 text", None),
    ],
)
def test_errors_are_worded_by_the_standard_parser(raw: bytes, message: str, where: tuple[int, int] | None) -> None:
    """orjson's own error never reaches the user: the line and column are the standard parser's."""
    with pytest.raises(Unreadable) as caught:
        decode_json(raw)
    assert (str(caught.value), caught.value.where) == (message, where)


def test_token_claims_decode_once_with_the_same_result() -> None:
    token = poolkit.access_token(account_id="acct-1", email="a@example.com", issued_ms=1_000, expires_ms=9_000)
    assert jwt.claims(token) == poolkit.token_claims(token)
    assert jwt.claims("not.a-token.!") is None
    assert jwt.claims("only-one-part") is None
