"""OneMap's analyses as OGC API - Processes, published by the mounted pygeoapi at /ogc/processes.

:func:`process_resources` gives the pygeoapi ``resources`` entries (``type: process``) whose
processor definitions carry ``data_dir`` and ``public_url`` — a processor never takes a path or
a URL from a request. :data:`MANAGER` is the job manager (validation before a job exists,
progress, cancellation by ``DELETE /ogc/jobs/{id}``).
"""

from __future__ import annotations

from typing import Any

from onemap.config import Settings

MANAGER = "onemap.mapserver.processing.manager.OneMapManager"
#: process id -> processor class (dotted path, as pygeoapi loads it).
PROCESSES: dict[str, str] = {
    "aqi-hourly": "onemap.mapserver.processing.air.AqiHourlyProcessor",
    "aqi-daily": "onemap.mapserver.processing.air.AqiDailyProcessor",
    "upwind-sources": "onemap.mapserver.processing.air.UpwindSourcesProcessor",
    "incident-assessment": "onemap.mapserver.processing.emergency.IncidentAssessmentProcessor",
    "ecology-change": "onemap.mapserver.processing.ecology.EcologyChangeProcessor",
    "pm25-surface": "onemap.mapserver.processing.surfaces.Pm25SurfaceProcessor",
    "pm25-surface-series": "onemap.mapserver.processing.surfaces.Pm25SurfaceSeriesProcessor",
}


def process_resources(settings: Settings) -> dict[str, dict[str, Any]]:
    """pygeoapi resources for every process, bound to ``settings``' data dir and public URL."""
    return {pid: {"type": "process",
                  "processor": {"name": path, "data_dir": str(settings.data_dir),
                                "public_url": settings.public_url,
                                "system_db": settings.system_db}}
            for pid, path in PROCESSES.items()}
