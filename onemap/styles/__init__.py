"""One symbology source for the map, legends, titiler colormaps and folium exports."""

from onemap.styles.colormaps import RASTER_STYLES, RasterStyle, legend_stops, rio_colormap
from onemap.styles.symbology import (
    ALARM_RULES,
    ALARM_STATUSES,
    AQI_LEVELS,
    DEVICE_STATUSES,
    FAMILY_STYLES,
    INCIDENT_LEVELS,
    WATER_CLASSES,
    aqi_color,
    aqi_level,
    leaflet_style,
    legend,
)

__all__ = [
    "ALARM_RULES", "ALARM_STATUSES", "AQI_LEVELS", "DEVICE_STATUSES",
    "FAMILY_STYLES", "INCIDENT_LEVELS", "RASTER_STYLES", "WATER_CLASSES",
    "RasterStyle", "aqi_color", "aqi_level", "leaflet_style", "legend", "legend_stops",
    "rio_colormap",
]
