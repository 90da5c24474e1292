"""WMTS 1.0.0 documents: capabilities (one raster, one cube, or the whole service) and OWS
exception reports (titiler-core 2.x no longer ships a WMTS endpoint).

Desktop GIS (QGIS, ArcGIS, SuperMap, MapGIS) and GDAL add rasters through WMTS, not TileJSON;
the documents point them at tile URLs rendered with each dataset's default style, so they get
the same colours as the web map. A layer with time steps (a raster series, a cube) carries a
``Time`` dimension and a ``{Time}`` segment in its tile template (see onemap/mapserver/
wmts_api.py for the routes and notes/issue14-tiles-research.md §2 for what QGIS 3.22 does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import morecantile
from rio_tiler.utils import CRS_to_urn

from onemap.catalog import Entry
from onemap.config import Settings

MAX_ZOOM = 18
WORLD = [-180.0, -85.0, 180.0, 85.0]


@dataclass(frozen=True)
class WmtsLayer:
    """One ``<Layer>``: its identifier, texts, extent, tile URL template (``{TileMatrixSet}``,
    ``{TileMatrix}``, ``{TileRow}``, ``{TileCol}`` and ``{Time}`` when it has times) and its
    ``Time`` values with the one served when a client names none."""

    id: str
    title: str
    abstract: str
    bbox: Sequence[float]
    template: str
    times: tuple[str, ...] = ()
    default: str | None = None
    legend: str | None = None


def _matrix_set(tms_id: str) -> str:
    tms = morecantile.tms.get(tms_id)
    matrices = []
    for m in tms.tileMatrices[: MAX_ZOOM + 1]:
        x, y = m.pointOfOrigin
        matrices.append(
            f"<TileMatrix><ows:Identifier>{m.id}</ows:Identifier>"
            f"<ScaleDenominator>{m.scaleDenominator!r}</ScaleDenominator>"
            f"<TopLeftCorner>{x!r} {y!r}</TopLeftCorner><TileWidth>{m.tileWidth}</TileWidth>"
            f"<TileHeight>{m.tileHeight}</TileHeight><MatrixWidth>{m.matrixWidth}</MatrixWidth>"
            f"<MatrixHeight>{m.matrixHeight}</MatrixHeight></TileMatrix>")
    # the CRS as a URN of its authority: urn:ogc:def:crs:EPSG::3857, and OGC::CRS84 for
    # WorldCRS84Quad (which has no EPSG code: "EPSG::None" made clients draw nothing)
    return (f"<TileMatrixSet><ows:Identifier>{escape(tms_id)}</ows:Identifier>"
            f"<ows:SupportedCRS>{CRS_to_urn(tms.rasterio_crs)}</ows:SupportedCRS>"
            f"{''.join(matrices)}</TileMatrixSet>")


def _layer(layer: WmtsLayer, tms_ids: Iterable[str]) -> str:
    bbox = list(layer.bbox) if layer.bbox else WORLD
    legend = (f'<LegendURL format="image/png" xlink:href={quoteattr(layer.legend)} '
              'width="256" height="20"/>' if layer.legend else "")
    dimension = ""
    if layer.times:
        # XSD order inside <Layer>: … Style, Format, InfoFormat, Dimension, TileMatrixSetLink
        values = "".join(f"<Value>{escape(t)}</Value>" for t in layer.times)
        dimension = ("<Dimension><ows:Identifier>Time</ows:Identifier><ows:UOM>ISO8601</ows:UOM>"
                     f"<Default>{escape(layer.default or layer.times[-1])}</Default>"
                     f"{values}</Dimension>")
    links = "".join(f"<TileMatrixSetLink><TileMatrixSet>{escape(t)}</TileMatrixSet>"
                    "</TileMatrixSetLink>" for t in tms_ids)
    return f"""<Layer><ows:Title>{escape(layer.title)}</ows:Title>
<ows:Abstract>{escape(layer.abstract)}</ows:Abstract>
<ows:WGS84BoundingBox><ows:LowerCorner>{bbox[0]} {bbox[1]}</ows:LowerCorner>
<ows:UpperCorner>{bbox[2]} {bbox[3]}</ows:UpperCorner></ows:WGS84BoundingBox>
<ows:Identifier>{escape(layer.id)}</ows:Identifier>
<Style isDefault="true"><ows:Identifier>default</ows:Identifier>{legend}</Style>
<Format>image/png</Format>{dimension}
{links}
<ResourceURL format="image/png" resourceType="tile" template={quoteattr(layer.template)}/>
</Layer>"""


def _encodings(href_rest: str, href_kvp: str) -> str:
    """One operation's two GET encodings: RESTful at ``href_rest``, KVP at ``href_kvp``."""
    return "".join(
        f'<ows:Get xlink:href={quoteattr(href)}><ows:Constraint name="GetEncoding">'
        f"<ows:AllowedValues><ows:Value>{enc}</ows:Value></ows:AllowedValues></ows:Constraint>"
        "</ows:Get>" for href, enc in ((href_rest, "RESTful"), (href_kvp, "KVP")))


def operations(public_url: str) -> str:
    """``<ows:OperationsMetadata>``: GetCapabilities and GetTile, each RESTful and KVP (the
    service-wide endpoints of wmts_api.py, which serve every layer of every document)."""
    kvp = f"{public_url}/wmts?"
    rest = f"{public_url}/wmts/1.0.0/"
    ops = (("GetCapabilities", f"{rest}WMTSCapabilities.xml"), ("GetTile", rest))
    return "<ows:OperationsMetadata>" + "".join(
        f'<ows:Operation name="{name}"><ows:DCP><ows:HTTP>{_encodings(href, kvp)}'
        "</ows:HTTP></ows:DCP></ows:Operation>" for name, href in ops) + \
        "</ows:OperationsMetadata>"


def document(title: str, layers: Sequence[WmtsLayer], tms_ids: Sequence[str],
             public_url: str, abstract: str = "") -> str:
    """A capabilities document of ``layers``, each offered in every set of ``tms_ids``."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1"
 xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.0">
<ows:ServiceIdentification><ows:Title>{escape(title)}</ows:Title>
<ows:Abstract>{escape(abstract)}</ows:Abstract>
<ows:ServiceType>OGC WMTS</ows:ServiceType><ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>
</ows:ServiceIdentification>
{operations(public_url)}
<Contents>
{"".join(_layer(layer, tms_ids) for layer in layers)}
{"".join(_matrix_set(t) for t in tms_ids)}
</Contents>
<ServiceMetadataURL xlink:href={quoteattr(f"{public_url}/wmts/1.0.0/WMTSCapabilities.xml")}/>
</Capabilities>
"""


def capabilities(entry: Entry, settings: Settings, tms_id: str, query: str,
                 legend_url: str | None = None) -> str:
    """The capabilities XML of one raster at ``/raster/{id}/tiles``; ``query`` is the tile
    query string (colormap, rescale…); ``legend_url`` (the colormap's ramp PNG) becomes the
    style's ``LegendURL``, which QGIS shows in its layer tree."""
    tiles = (f"{settings.public_url}/raster/{entry.id}/tiles/{tms_id}/"
             "{TileMatrix}/{TileCol}/{TileRow}.png" + (f"?{query}" if query else ""))
    layer = WmtsLayer(entry.id, entry.title, entry.title_en, entry.bbox or WORLD, tiles,
                      legend=legend_url)
    return document(entry.title, [layer], [tms_id], settings.public_url)


def exception_report(code: str, text: str, locator: str | None = None) -> str:
    """An OWS 1.1 ExceptionReport: what WMTS clients (QGIS, GDAL, OWSLib) parse and show."""
    where = f" locator={quoteattr(locator)}" if locator else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="1.1.0" xml:lang="en">
<ows:Exception exceptionCode={quoteattr(code)}{where}>
<ows:ExceptionText>{escape(text)}</ows:ExceptionText></ows:Exception>
</ows:ExceptionReport>
"""
