"""Surface-water quality class per GB 3838-2002 (地表水环境质量标准), table 1.

The class of a sample is the worst class over its evaluated parameters (单因子评价). Following
the national evaluation method (地表水环境质量评价办法（试行）, 2011), total nitrogen is not part
of the class of a river section and is evaluated on its own for lakes and reservoirs; total
phosphorus uses the stricter lake/reservoir limits at lake sections. pH outside 6–9 is worse
than class V. Exceeding factors are reported against the section's target class (default III)
with the multiple of exceedance ((C - limit) / limit; for DO, (limit - C) / limit is not defined
by the standard, so DO gets no multiple).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

CLASSES = ("I", "II", "III", "IV", "V")
WORSE_THAN_V = "V+"
#: Upper limits per class I..V (mg/L); DO is a lower limit.
LIMITS: dict[str, tuple[float, ...]] = {
    "do": (7.5, 6, 5, 3, 2),
    "codmn": (2, 4, 6, 10, 15),
    "cod": (15, 15, 20, 30, 40),
    "bod5": (3, 3, 4, 6, 10),
    "nh3n": (0.15, 0.5, 1.0, 1.5, 2.0),
    "tp": (0.02, 0.1, 0.2, 0.3, 0.4),
    "tp_lake": (0.01, 0.025, 0.05, 0.1, 0.2),
    "tn": (0.2, 0.5, 1.0, 1.5, 2.0),
}
EVALUATED = ("do", "codmn", "cod", "bod5", "nh3n", "tp")
RANK = {c: i for i, c in enumerate((*CLASSES, WORSE_THAN_V))}


def parameter_class(parameter: str, value: float | None, *, lake: bool = False) -> str | None:
    """Class of one parameter value (I..V or V+); None if the value is missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if parameter == "ph":
        return "I" if 6 <= value <= 9 else WORSE_THAN_V
    key = "tp_lake" if parameter == "tp" and lake else parameter
    limits = LIMITS[key]
    for cls, limit in zip(CLASSES, limits, strict=True):
        if (value >= limit) if parameter == "do" else (value <= limit):
            return cls
    return WORSE_THAN_V


def sample_class(values: Mapping[str, float | None], *, lake: bool = False) -> str | None:
    """Worst class over the evaluated parameters present (TN excluded, see module doc)."""
    classes = [parameter_class(p, values.get(p), lake=lake) for p in (*EVALUATED, "ph")]
    classes = [c for c in classes if c is not None]
    return max(classes, key=RANK.__getitem__) if classes else None


def exceeding(values: Mapping[str, float | None], target: str = "III", *, lake: bool = False
              ) -> dict[str, float | None]:
    """Parameters worse than the target class, with their multiple of exceedance."""
    out: dict[str, float | None] = {}
    for p in EVALUATED:
        cls = parameter_class(p, values.get(p), lake=lake)
        if cls is None or RANK[cls] <= RANK[target]:
            continue
        limit = LIMITS["tp_lake" if p == "tp" and lake else p][RANK[target]]
        out[p] = None if p == "do" else round((values[p] - limit) / limit, 2)
    return out
