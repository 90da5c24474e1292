"""Every word of the Emergency panel in both languages, and the names of the codes it shows.

The ``incident-assessment`` process answers with codes — pollutant ``cl2``, receptor kind
``school``, zone grade ``primary``, downstream kind ``intake``, Pasquill class ``B`` — and a few
English notes. The panel turns codes into words here, so the English page never shows a Chinese
phrase and the Chinese page never an English one. Names of places and companies are Chinese
proper nouns with no English form in the data: English rows name them by their code
(:func:`name_or_code`), as the Ecology panel does.

The pollutant table is the app's copy of the process's enum (the app may not import the
analyses); ``tests/app/test_emergency.py`` fails if the two drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from onemap.app.i18n import STRINGS, pick
from onemap.app.labels import VALUE_LABELS
from onemap.app.panels import emergency_strings  # noqa: F401  (registers the strings)


@dataclass(frozen=True)
class PollutantName:
    """How a pollutant code reads: Chinese and English name, formula, media it is assessed in."""

    zh: str
    en: str
    formula: str
    media: tuple[str, ...]
    aliases: tuple[str, ...] = ()   # other spellings found in incident reports


_A, _W, _AW = ("air",), ("water",), ("air", "water")
#: code -> names, in the order the dropdown lists them (air first, then both, then water).
POLLUTANTS: dict[str, PollutantName] = {
    "cl2": PollutantName("氯气", "Chlorine", "Cl₂", _A),
    "nh3": PollutantName("氨", "Ammonia", "NH₃", _A, ("氨气",)),
    "h2s": PollutantName("硫化氢", "Hydrogen sulfide", "H₂S", _A),
    "so2": PollutantName("二氧化硫", "Sulfur dioxide", "SO₂", _A),
    "no2": PollutantName("二氧化氮", "Nitrogen dioxide", "NO₂", _A, ("NOx", "氮氧化物")),
    "hcl": PollutantName("氯化氢", "Hydrogen chloride", "HCl", _A, ("盐酸",)),
    "hcn": PollutantName("氰化氢", "Hydrogen cyanide", "HCN", _A),
    "co": PollutantName("一氧化碳", "Carbon monoxide", "CO", _A),
    "pm25": PollutantName("细颗粒物", "Fine particulate matter", "PM2.5", _A, ("烟雾",)),
    "hcho": PollutantName("甲醛", "Formaldehyde", "HCHO", _AW),
    "benzene": PollutantName("苯", "Benzene", "C₆H₆", _AW),
    "toluene": PollutantName("甲苯", "Toluene", "C₇H₈", _AW),
    "acrylonitrile": PollutantName("丙烯腈", "Acrylonitrile", "C₃H₃N", _AW),
    "cod": PollutantName("化学需氧量", "Chemical oxygen demand", "COD", _W),
    "nh3n": PollutantName("氨氮", "Ammonia nitrogen", "NH₃-N", _W),
    "tp": PollutantName("总磷", "Total phosphorus", "TP", _W),
    "oil": PollutantName("石油类", "Petroleum", "", _W, ("石油", "油类", "柴油", "汽油")),
    "cr6": PollutantName("六价铬", "Hexavalent chromium", "Cr(VI)", _W),
    "cd": PollutantName("镉", "Cadmium", "Cd", _W),
    "pb": PollutantName("铅", "Lead", "Pb", _W),
    "as": PollutantName("砷", "Arsenic", "As", _W),
    "hg": PollutantName("汞", "Mercury", "Hg", _W),
    "cn": PollutantName("氰化物", "Cyanide", "CN⁻", _W),
    "phenol": PollutantName("挥发酚", "Volatile phenols", "", _W),
}

#: Pasquill stability classes: code -> (zh, en).
STABILITY = {"A": ("极不稳定", "very unstable"), "B": ("不稳定", "unstable"),
             "C": ("弱不稳定", "slightly unstable"), "D": ("中性", "neutral"),
             "E": ("弱稳定", "slightly stable"), "F": ("稳定", "stable")}

#: 16-point compass, the meteorological names used in Chinese wind reports.
COMPASS = (("北", "N"), ("北东北", "NNE"), ("东北", "NE"), ("东东北", "ENE"), ("东", "E"),
           ("东东南", "ESE"), ("东南", "SE"), ("南东南", "SSE"), ("南", "S"), ("南西南", "SSW"),
           ("西南", "SW"), ("西西南", "WSW"), ("西", "W"), ("西西北", "WNW"), ("西北", "NW"),
           ("北西北", "NNW"))

#: Receptor roles of the process and where their kind code is labelled.
ROLE_KIND = {"receptor": ("sensitive_receptors", "kind"),
             "protected_area": ("protected_areas", "category"),
             "water_source_zone": ("water_source_zones", "grade")}

_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_SUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉⁻", "0123456789-")



def has_cjk(text: str) -> bool:
    """Whether ``text`` holds Chinese characters or full-width punctuation."""
    return bool(_CJK.search(text or ""))


def name_or_code(name: object, code: object, lang: str) -> str:
    """A place or company as the reader of ``lang`` can read it: its (Chinese) name, or in
    English its code — the data has no English names, and a code beats mixed text."""
    name_s = "" if name is None else str(name).strip()
    code_s = "" if code is None else str(code).strip()
    if lang == "en" and (not name_s or has_cjk(name_s)):
        return code_s or "—"
    return name_s or code_s or "—"


def pollutant_label(code: str, lang: str) -> str:
    """``氯气 Cl₂`` / ``Chlorine Cl₂``; an unknown code as given."""
    p = POLLUTANTS.get(code)
    if p is None:
        return code
    name = p.en if lang == "en" else p.zh
    return f"{name} {p.formula}" if p.formula and p.formula != name else name


def pollutant_options(codes: list[str] | None, medium: str, lang: str) -> list[dict]:
    """Dropdown options of the pollutants the process knows for ``medium``, in table order.

    ``codes`` is the process's enum (None when it could not be read: then the table's); a code
    the table does not know is offered by its code, in both media."""
    enum = list(POLLUTANTS) if codes is None else list(codes)
    known = [c for c in POLLUTANTS if c in enum and medium in POLLUTANTS[c].media]
    unknown = sorted(c for c in enum if c not in POLLUTANTS)
    return [{"label": pollutant_label(c, lang), "value": c} for c in known + unknown]


def _norm(text: str) -> str:
    return text.translate(_SUB).upper().replace(" ", "")


def match_pollutant(text: str | None) -> str | None:
    """The pollutant code an incident report's free text names first ("SO₂、NOx" → so2,
    "COD、氨氮" → cod, "甲苯" → toluene, never benzene); None if it names none we know."""
    if not text:
        return None
    hay = _norm(str(text))
    best: tuple[int, int, str] | None = None
    for code, p in POLLUTANTS.items():
        for alias in (p.zh, p.formula, p.en, *p.aliases):
            if not alias or (len(_norm(alias)) < 2 and not has_cjk(alias)):
                continue  # "As", "Cd"… are too short to find safely in free text
            pos = hay.find(_norm(alias))
            if pos >= 0:
                key = (pos, -len(_norm(alias)), code)
                if best is None or key < best:
                    best = key
    return best[2] if best else None


def kind_label(role: str, code: object, lang: str) -> str:
    """The human label of a receptor's kind (school, primary zone, wetland park…)."""
    if code is None or code == "":
        return ""
    family, field = ROLE_KIND.get(role, ("", ""))
    pair = VALUE_LABELS.get(family, {}).get(field, {}).get(str(code))
    if pair:
        return pick(pair[0], pair[1], lang)
    text = str(code)
    return text if lang == "zh" or not has_cjk(text) else ""


def incident_type_label(code: object, lang: str) -> str:
    pair = VALUE_LABELS.get("incidents", {}).get("type", {}).get(str(code or ""))
    return pick(pair[0], pair[1], lang) if pair else str(code or "")


def incident_status_label(code: object, lang: str) -> str:
    pair = VALUE_LABELS.get("incidents", {}).get("status", {}).get(str(code or ""))
    return pick(pair[0], pair[1], lang) if pair else ""


def compass(deg: float, lang: str) -> str:
    """The 16-point compass name of a bearing (clockwise from north)."""
    zh, en = COMPASS[int((float(deg) % 360.0) / 22.5 + 0.5) % 16]
    return en if lang == "en" else zh


def stability_name(cls: str, lang: str) -> str:
    pair = STABILITY.get(str(cls).upper())
    return pick(pair[0], pair[1], lang) if pair else str(cls)


def dropdown_labels(lang: str) -> dict[str, str]:
    """A dropdown's own words (search box, clear button…): Dash's defaults are English."""
    table = STRINGS["en" if lang == "en" else "zh"]
    keys = {"search": "em_dd_search", "clear_search": "em_dd_clear_search",
            "clear_selection": "em_dd_clear", "no_options_found": "em_dd_none",
            "select_all": "em_dd_all", "deselect_all": "em_dd_none_all",
            "selected_count": "em_dd_count"}
    return {name: table[key] for name, key in keys.items()}
