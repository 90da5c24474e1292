"""MapServer 8 (Debian's ``mapserv``) behind lighttpd's FastCGI, on the bench's PostGIS table.

The reference deployment a GIS team would put up: one mapfile with the national sources as a
``CONNECTIONTYPE POSTGIS`` layer on the very table OneMap reads (``layers.<id>``, its GiST and
key indexes), the NDVI COG as a raster layer, OGC API Features (``/mapserv/peer/ogcapi``), WMS and
tiles (``mode=tile``, PNG or MVT). lighttpd (Debian's, installed by ``make bench-peers``)
spawns two ``mapserv`` FastCGI processes (one per core). Everything under ``folder``; the
server is stopped by :func:`stop`.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

MAPFILE = """MAP
  NAME "onemap_peer"
  EXTENT 73 18 135 54
  SIZE 256 256
  UNITS DD
  PROJECTION "init=epsg:4326" END
  CONFIG "MS_ERRORFILE" "{folder}/mapserver.log"
  WEB
    METADATA
      "ows_enable_request" "*"
      "oga_enable_request" "*"
      "ows_title" "OneMap bench peer"
      "ows_srs" "EPSG:4326 EPSG:3857"
      "ows_onlineresource" "{base}/mapserv?"
      "oga_onlineresource" "{base}/mapserv/peer/ogcapi"
      "oga_html_template_directory" "{folder}/templates/"
    END
  END
  OUTPUTFORMAT NAME "png" DRIVER AGG/PNG MIMETYPE "image/png" IMAGEMODE RGBA
    TRANSPARENT ON END
  OUTPUTFORMAT NAME "mvt" DRIVER MVT MIMETYPE "application/vnd.mapbox-vector-tile"
    IMAGEMODE FEATURE EXTENSION "pbf" FORMATOPTION "EDGE_BUFFER=20" END
  SYMBOL NAME "circle" TYPE ELLIPSE FILLED TRUE POINTS 1 1 END END
  LAYER
    NAME "sources"
    TYPE POINT
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "{conninfo}"
    DATA "geom FROM layers.{layer} USING UNIQUE fid USING SRID=4326"
    PROJECTION "init=epsg:4326" END
    EXTENT 73 18 135 54
    TEMPLATE "void"
    METADATA
      "ows_title" "sources"
      "gml_include_items" "all"
      "gml_featureid" "fid"
      "gml_types" "auto"
      "oga_max_limit" "10000"
    END
    CLASS STYLE SYMBOL "circle" SIZE 4 COLOR 200 40 40 END END
  END
  LAYER
    NAME "ndvi"
    TYPE RASTER
    STATUS ON
    DATA "{raster}"
    PROJECTION AUTO END
    PROCESSING "SCALE=-0.2,0.9"
    PROCESSING "RESAMPLE=NEAREST"
  END
END
"""

#: MapServer 8 reads its settings from a config file (``MAPSERVER_CONFIG_FILE``), not the
#: environment: the one mapfile it serves (by name, ``peer``: OGC API is
#: ``/mapserv/peer/ogcapi``), and its error log.
CONFIG = """CONFIG
  ENV
    MS_MAPFILE "{folder}/peer.map"
    MS_MAP_NO_PATH "1"
    MS_ERRORFILE "{folder}/mapserver.log"
  END
  MAPS
    "peer" "{folder}/peer.map"
  END
END
"""

LIGHTTPD = """server.document-root = "{folder}"
server.bind = "127.0.0.1"
server.port = {port}
server.modules = ("mod_fastcgi")
server.errorlog = "{folder}/lighttpd.log"
server.pid-file = "{folder}/lighttpd.pid"
fastcgi.server = ("/mapserv" => ((
  "bin-path" => "/usr/bin/mapserv",
  "socket" => "{folder}/mapserv.sock",
  "check-local" => "disable",
  "max-procs" => {procs},
  "bin-environment" => ("MAPSERVER_CONFIG_FILE" => "{folder}/mapserver.conf")
)))
"""


def conninfo(url: str) -> str:
    """A libpq key=value string of a ``postgresql://user@host:port/db`` URL."""
    parts = urlsplit(url)
    return (f"host={parts.hostname} port={parts.port or 5432} dbname={parts.path.lstrip('/')} "
            f"user={parts.username or 'postgres'}")


def start(folder: Path, port: int, url: str, layer: str, raster: Path, procs: int = 2
          ) -> tuple[subprocess.Popen, str]:
    """lighttpd + mapserv FastCGI on ``port``; (process, base URL) once it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "templates").mkdir(exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    (folder / "peer.map").write_text(MAPFILE.format(
        folder=folder, base=base, conninfo=conninfo(url), layer=layer, raster=raster))
    (folder / "mapserver.conf").write_text(CONFIG.format(folder=folder))
    (folder / "lighttpd.conf").write_text(LIGHTTPD.format(folder=folder, port=port,
                                                          procs=procs))
    proc = subprocess.Popen(["lighttpd", "-D", "-f", str(folder / "lighttpd.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    probe = f"{base}/mapserv/peer/ogcapi/collections/sources/items?f=json&limit=1"
    while time.monotonic() < deadline:
        try:
            r = requests.get(probe, timeout=10)
            if r.status_code == 200:
                return proc, base
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("lighttpd exited: " + proc.stderr.read().decode(errors="replace"))
        time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"MapServer did not answer {probe}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
