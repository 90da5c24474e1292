"""WMTS 1.0.0 capabilities for one raster (titiler-core 2.x no longer ships this endpoint).

Desktop GIS (QGIS, ArcGIS) and many Chinese intranet clients add raster layers through WMTS,
not TileJSON; the document points them at our id-based tile URL with the dataset's default
rendering, so they get the same colours as the web map.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

import morecantile
from rio_tiler.utils import CRS_to_urn

from onemap.catalog import Entry
from onemap.config import Settings

MAX_ZOOM = 18


def capabilities(entry: Entry, settings: Settings, tms_id: str, query: str,
                 legend_url: str | None = None) -> str:
    """The capabilities XML; ``query`` is the tile query string (colormap, rescale…);
    ``legend_url`` (the colormap's ramp PNG) becomes the style's ``LegendURL``, which QGIS
    shows in its layer tree."""
    tms = morecantile.tms.get(tms_id)
    bbox = entry.bbox or [-180.0, -85.0, 180.0, 85.0]
    tiles = (f"{settings.public_url}/raster/{entry.id}/tiles/{tms_id}/"
             "{TileMatrix}/{TileCol}/{TileRow}.png" + (f"?{query}" if query else ""))
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
    crs_urn = CRS_to_urn(tms.rasterio_crs)
    legend = (f'<LegendURL format="image/png" xlink:href={quoteattr(legend_url)} '
              'width="256" height="20"/>' if legend_url else "")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1"
 xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.0">
<ows:ServiceIdentification><ows:Title>{escape(entry.title)}</ows:Title>
<ows:ServiceType>OGC WMTS</ows:ServiceType><ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>
</ows:ServiceIdentification>
<Contents>
<Layer><ows:Title>{escape(entry.title)}</ows:Title><ows:Abstract>{escape(entry.title_en)}</ows:Abstract>
<ows:WGS84BoundingBox><ows:LowerCorner>{bbox[0]} {bbox[1]}</ows:LowerCorner>
<ows:UpperCorner>{bbox[2]} {bbox[3]}</ows:UpperCorner></ows:WGS84BoundingBox>
<ows:Identifier>{escape(entry.id)}</ows:Identifier>
<Style isDefault="true"><ows:Identifier>default</ows:Identifier>{legend}</Style>
<Format>image/png</Format>
<TileMatrixSetLink><TileMatrixSet>{escape(tms_id)}</TileMatrixSet></TileMatrixSetLink>
<ResourceURL format="image/png" resourceType="tile" template={quoteattr(tiles)}/>
</Layer>
<TileMatrixSet><ows:Identifier>{escape(tms_id)}</ows:Identifier>
<ows:SupportedCRS>{crs_urn}</ows:SupportedCRS>
{"".join(matrices)}
</TileMatrixSet>
</Contents>
</Capabilities>
"""
