"""Check characters and formats of the official codes found in environmental data.

A regular expression only says a pollution-source code *looks* right; the unified social credit
code (GB 32100-2015) carries a check character, so a typo in one of its 17 first characters is
caught here instead of silently creating a second company. The sample generator imports
:func:`uscc_check_char` to make codes that pass, so real and generated data go through the same
check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

#: GB 32100-2015 character set: digits and capitals without I, O, Z, S, V (value = position).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: GB 32100-2015 weights of the 17 information characters (3**i mod 31).
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(USCC_CHARSET)}
_HJ608 = re.compile(r"^([0-9A-Z]{18})(\d{3})P$")
_OUTLET = re.compile(r"^D[AW]\d{3}$")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code whose first 17 are ``first17``.

    Raises ValueError when ``first17`` is not 17 characters of the GB 32100 charset, so a caller
    building codes cannot produce one that would later be refused.
    """
    if len(first17) != 17:
        raise ValueError(f"a unified social credit code has 17 characters before the check "
                         f"character, got {len(first17)}: {first17!r}")
    try:
        total = sum(_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not allowed in a unified social credit "
                         f"code (allowed: {USCC_CHARSET})") from None
    return USCC_CHARSET[(31 - total % 31) % 31]


def uscc_check_chars(first17s: Sequence[str]) -> np.ndarray:
    """Vectorised :func:`uscc_check_char` for a million codes at once; ``"?"`` for inputs that
    are not 17 charset characters (so they never equal a real check character)."""
    codes = np.asarray(first17s, dtype="U17")
    points = codes.view(np.uint32).reshape(len(codes), 17)
    table = np.full(0x10000, -1, dtype=np.int64)
    table[[ord(c) for c in USCC_CHARSET]] = np.arange(len(USCC_CHARSET))
    values = table[np.minimum(points, 0xFFFF)]
    ok = (values >= 0).all(axis=1) & (np.char.str_len(codes) == 17)
    check = (31 - (values * np.array(USCC_WEIGHTS)).sum(axis=1) % 31) % 31
    return np.where(ok, np.array(list(USCC_CHARSET))[check], "?")


def is_valid_uscc(code: object) -> bool:
    """True if ``code`` is an 18-character unified social credit code with a correct check char."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    try:
        return uscc_check_char(code[:17]) == code[17]
    except ValueError:
        return False


def is_valid_hj608(code: object) -> bool:
    """True for an HJ 608-2017 pollutant-discharge unit code: valid USCC + 3 digits + ``P``."""
    if not isinstance(code, str):
        return False
    match = _HJ608.fullmatch(code)
    return bool(match) and is_valid_uscc(match.group(1))


def is_valid_outlet(code: object) -> bool:
    """True for one outlet code: ``DA###`` (air, 废气) or ``DW###`` (water, 废水) per HJ 608."""
    return isinstance(code, str) and bool(_OUTLET.fullmatch(code))


def is_valid_outlets(value: object) -> bool:
    """True for a ``;``-separated list of outlet codes, as stored in ``pollution_sources``."""
    if not isinstance(value, str) or not value:
        return False
    return all(is_valid_outlet(part) for part in value.split(";"))


def hj608_problem(code: str) -> str | None:
    """Why ``code`` is not a valid HJ 608 code (None if it is), in words a data clerk can act on."""
    match = _HJ608.fullmatch(code)
    if not match:
        return "not an HJ 608 code (18-character unified social credit code + 3 digits + 'P')"
    uscc = match.group(1)
    try:
        expected = uscc_check_char(uscc[:17])
    except ValueError as exc:
        return str(exc)
    if expected != uscc[17]:
        return (f"check character of the unified social credit code {uscc!r} is {uscc[17]!r}, "
                f"expected {expected!r} (GB 32100-2015): the code has a typo")
    return None
