"""GB 32100-2015 check characters and HJ 608 / outlet code formats."""

from __future__ import annotations

import pytest

from onemap.layers.codes import (
    hj608_problem,
    is_valid_hj608,
    is_valid_outlet,
    is_valid_outlets,
    is_valid_uscc,
    uscc_check_char,
    uscc_check_chars,
)

#: Real, published unified social credit codes (company registrations).
REAL_CODES = ["91440300708461136T", "91110000600037341L", "91350100M000100Y43"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_have_correct_check_char(code: str) -> None:
    assert uscc_check_char(code[:17]) == code[17]
    assert is_valid_uscc(code)


def test_wrong_check_char_or_typo_is_refused() -> None:
    assert not is_valid_uscc("91440300708461136U")
    assert not is_valid_uscc("91440300708461137T")  # one digit changed
    assert not is_valid_uscc("9144030070846113T")  # too short
    assert not is_valid_uscc(None)


def test_check_char_rejects_letters_outside_charset() -> None:
    with pytest.raises(ValueError, match="'I'"):
        uscc_check_char("9144030070846113I")
    with pytest.raises(ValueError, match="17 characters"):
        uscc_check_char("914403")


def test_check_char_can_be_any_charset_value() -> None:
    # Check characters computed here must cover the charset, letters included.
    seen = {uscc_check_char(f"9111000071092{n:04d}") for n in range(2000)}
    assert len(seen) == 31


def test_hj608_codes() -> None:
    assert is_valid_hj608("91440300708461136T001P")
    assert not is_valid_hj608("91440300708461136U001P")
    assert not is_valid_hj608("91440300708461136T001")
    assert not is_valid_hj608("91440300708461136T01AP")
    assert hj608_problem("91440300708461136T001P") is None
    assert "expected 'T'" in hj608_problem("91440300708461136U001P")
    assert "HJ 608" in hj608_problem("nonsense")


def test_outlet_codes() -> None:
    assert is_valid_outlet("DA001") and is_valid_outlet("DW012")
    assert not is_valid_outlet("DX001") and not is_valid_outlet("DA01")
    assert is_valid_outlets("DA001;DA002;DW001")
    assert not is_valid_outlets("DA001;;DW001")
    assert not is_valid_outlets("")


def test_vectorised_check_chars_agree() -> None:
    first = [c[:17] for c in REAL_CODES] + ["9144030070846113I", "short", "91110000710920001"]
    assert list(uscc_check_chars(first)) == [c[17] for c in REAL_CODES] + [
        "?", "?", uscc_check_char("91110000710920001")]
