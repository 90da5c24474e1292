"""The catalogue file is strict JSON: no NaN or Infinity, which strict parsers refuse; a raster's
NaN nodata is written as "nan" (STAC's spelling) and an old catalogue holding NaN still loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pystac
import pytest

from onemap import catalog
from onemap.config import Settings
from onemap.raster import stac
from onemap.raster.ingest import add_raster
from tests.raster.makers import write_geotiff


def _refuse(name: str) -> None:
    raise ValueError(f"not JSON: {name}")


def strict_load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse)


def _entry(dataset_id: str, **extra) -> catalog.Entry:
    return catalog.Entry(id=dataset_id, kind="raster", family="raster", title=dataset_id,
                         path=f"rasters/{dataset_id}.tif", bbox=[117.0, 31.0, 118.0, 32.0],
                         extra=extra)


def test_sample_catalog_is_strict_json(sample_settings: Settings) -> None:
    doc = strict_load(sample_settings.catalog_path)
    assert len(doc["datasets"]) > 5


def test_non_finite_numbers_are_written_deliberately(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    catalog.put(_entry("nan_nodata", nodata=float("nan"), rescale=[0.0, float("inf")],
                       stats={"min": float("-inf")}), settings)
    catalog.put(_entry("inf_nodata", nodata=float("-inf")), settings)
    bad_box = _entry("bad_box", nodata=0.0)
    bad_box.bbox = [float("nan"), 31.0, 118.0, 32.0]
    catalog.put(bad_box, settings)
    doc = {d["id"]: d for d in strict_load(settings.catalog_path)["datasets"]}
    assert doc["nan_nodata"]["extra"] == {"nodata": "nan", "rescale": [0.0, None],
                                          "stats": {"min": None}}
    assert doc["inf_nodata"]["extra"]["nodata"] == "-inf"
    assert doc["bad_box"]["bbox"] is None and doc["bad_box"]["extra"]["nodata"] == 0.0
    assert catalog.get("nan_nodata", settings).extra["nodata"] == "nan"


def test_an_old_catalogue_with_nan_still_loads_and_is_rewritten_strict(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    old = _entry("old_surface", nodata=0.0).model_dump()
    text = json.dumps({"datasets": [old]}).replace('"nodata": 0.0', '"nodata": NaN')
    assert "NaN" in text
    settings.catalog_path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        strict_load(settings.catalog_path)
    assert catalog.get("old_surface", settings).extra["nodata"] == "nan"
    catalog.put(_entry("another", nodata=1.0), settings)
    doc = strict_load(settings.catalog_path)
    assert {d["id"]: d["extra"]["nodata"] for d in doc["datasets"]} == {"old_surface": "nan",
                                                                          "another": 1.0}


def test_a_nan_nodata_raster_gives_strict_catalogue_and_stac(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    src = write_geotiff(tmp_path / "surface.tif", dtype="float32", nodata=np.nan)
    entry = add_raster(src, dataset_id="pm25_surface", title="面", settings=settings)
    assert entry.extra["nodata"] == "nan"
    strict_load(settings.catalog_path)
    item = stac.raster_item(catalog.get("pm25_surface", settings), "http://x.test", {})
    json.dumps(item, allow_nan=False)
    bands = pystac.Item.from_dict(item).assets["data"].extra_fields["raster:bands"]
    assert bands[0]["nodata"] == "nan"
