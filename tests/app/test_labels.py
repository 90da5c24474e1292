"""The popup labels copied into the app agree with the family schemas they were copied from."""

from __future__ import annotations

import pytest

from onemap.app.i18n import FAMILY_GROUP, STRINGS
from onemap.app.labels import POPUP_FIELDS, VALUE_LABELS
from onemap.layers.families import FAMILIES

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
