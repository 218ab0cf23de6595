"""The secrets registry indexes tokens by their tails: tokens that share any prefix (every JWT of
one signing key shares its header) or any suffix are all still scrubbed, wherever they stand,
with ``-`` and ``_`` swapped, and nothing else is masked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import scrubbing

_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
_part = st.text(alphabet=_CHARS, min_size=0, max_size=120)
_middle = st.text(alphabet=_CHARS, min_size=1, max_size=40)
_filler = st.text(alphabet=_CHARS + " \n\"'{}:,\\", min_size=0, max_size=60)


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    scrubbing.forget_all()
    yield
    scrubbing.forget_all()


@given(
    prefix=_part,
    suffix=_part,
    middles=st.lists(_middle, min_size=2, max_size=12, unique=True),
    fillers=st.lists(_filler, min_size=13, max_size=13),
    swap=st.booleans(),
)
def test_tokens_sharing_a_prefix_or_a_suffix_are_all_scrubbed(
    prefix: str, suffix: str, middles: list[str], fillers: list[str], swap: bool
) -> None:
    scrubbing.forget_all()
    tokens = sorted({prefix + m + suffix for m in middles if len(prefix + m + suffix) >= scrubbing.MIN_SECRET})
    scrubbing.remember(*tokens)
    shown = [t.replace("-", "_") if swap else t for t in tokens]
    text = fillers[0] + "".join(token + filler for token, filler in zip(shown, fillers[1:], strict=False))
    cleaned = scrubbing.scrub(text)
    for token in shown:
        assert token not in cleaned, (token, cleaned)
        assert token not in cleaned.replace("\\", "")
    if tokens:
        assert scrubbing.MASK in cleaned


@given(
    prefix=st.text(alphabet=_CHARS, min_size=20, max_size=200),
    count=st.integers(min_value=2, max_value=40),
    cut=st.integers(min_value=1, max_value=15),
)
def test_text_that_shares_only_a_prefix_with_the_tokens_is_left_alone(prefix: str, count: int, cut: int) -> None:
    """A JWT header alone (or any shared part cut short of a whole token) is not a secret."""
    tokens = [f"{prefix}.{i:04d}signature{'x' * 20}" for i in range(count)]
    scrubbing.remember(*tokens)
    text = f"{prefix} and {tokens[0][:-cut]}"
    assert scrubbing.scrub(text) == text
    assert scrubbing.scrub(f"[{tokens[-1]}]") == "[***]"
