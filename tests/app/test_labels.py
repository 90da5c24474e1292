"""The popup labels copied into the app agree with the family schemas they were copied from."""

from __future__ import annotations

import re

import pytest

from onemap.analysis.standards.water import EVALUATED
from onemap.app.i18n import FAMILY_GROUP, STRINGS
from onemap.app.labels import (
    BLOCK_FIELDS,
    EMISSION_GROUPS,
    OUTLET_KINDS,
    POPUP_FIELDS,
    POPUP_STRINGS,
    VALUE_LABELS,
    WATER_CLASS_SHORT,
    WATER_PARAMETERS,
)
from onemap.layers.families import FAMILIES, OUTLETS_PATTERN
from onemap.styles.symbology import WATER_CLASSES

#: Fields the server derives for the map (not part of the stored schema).
DERIVED = {("water_sections", "water_class")}


@pytest.mark.parametrize("family", sorted(POPUP_FIELDS))
def test_popup_labels_match_schema(family: str) -> None:
    schema = FAMILIES[family]
    names = {f.name for f in schema.fields}
    for name, zh, en, unit in POPUP_FIELDS[family]:
        if (family, name) in DERIVED:
            continue
        assert name in names, f"{family}.{name} is not a field of the family"
        spec = schema.field(name)
        assert (zh, en, unit) == (spec.label, spec.label_en, spec.unit), f"{family}.{name}"


@pytest.mark.parametrize("family", sorted(VALUE_LABELS))
def test_value_labels_cover_choices(family: str) -> None:
    schema = FAMILIES[family]
    for name, codes in VALUE_LABELS[family].items():
        if (family, name) in DERIVED:
            continue
        choices = schema.field(name).choices or ()
        assert set(choices) <= set(codes), f"{family}.{name} lacks labels for some codes"


def test_every_map_family_has_a_group_and_popup() -> None:
    mapped = {name for name, fam in FAMILIES.items() if fam.geometry}
    assert mapped <= set(FAMILY_GROUP)
    assert mapped <= set(POPUP_FIELDS)


def test_both_languages_have_the_same_strings() -> None:
    assert set(STRINGS["zh"]) == set(STRINGS["en"])


def test_popup_blocks_name_what_the_data_has() -> None:
    """The richer popups' names (onemap/app/labels.py) cover the codes the server sends."""
    # Every parameter a sample's `exceeding` may name (and pH, which classes a sample).
    assert {*EVALUATED, "ph"} <= set(WATER_PARAMETERS)
    assert set(WATER_CLASS_SHORT) == {c.value for c in WATER_CLASSES}
    # Outlet codes are DA### or DW###: both kinds named.
    assert set(re.findall(r"D\[(\w+)\]", OUTLETS_PATTERN)[0]) == {k[1] for k in OUTLET_KINDS}
    # Emissions: every t/a field of a source, once, in the air or the water group.
    schema = FAMILIES["pollution_sources"]
    tons = {f.name for f in schema.fields if f.unit == "t/a"}
    grouped = [f for _, _, _, rows in EMISSION_GROUPS for f, _, _ in rows]
    assert sorted(grouped) == sorted(tons)
    # Fields drawn in a block are popup fields; every popup string exists in both languages.
    for family, fields in BLOCK_FIELDS.items():
        assert set(fields) <= {f[0] for f in POPUP_FIELDS[family]}, family
    for keys in POPUP_STRINGS.values():
        for key in keys:
            assert key in STRINGS["zh"] and key in STRINGS["en"], key
