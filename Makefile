# OneMap — `make run` sets everything up and serves http://127.0.0.1:8000; `make test` tests it.
# Every target is idempotent: it installs only what is missing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := .make
# Debian packages: GDAL command-line tools (ogrinfo OAPIF: client used by the tests), Chromium
# for the browser tests, a CJK font so Chinese renders in headless Chromium; QGIS's own Python
# bindings and providers (without recommends: no desktop) so the tests open layers in real QGIS;
# PostgreSQL 15 with PostGIS 3, which the tests start on free ports (the system database, `make postgis`);
# MapServer's Python bindings (WMS/WFS at /wms, /wfs: worker processes under /usr/bin/python3)
# and its command-line tools (`mapserv -v`, map2img) for checking a generated mapfile.
APT_PACKAGES := gdal-bin chromium fonts-wqy-microhei
APT_BARE := python3-qgis qgis-providers postgresql-15 postgresql-client-15 postgresql-15-postgis-3 \
	python3-mapscript mapserver-bin

.PHONY: run test apt venv node sample postgis lint bench bench-national bench-vtiles bench-load bench-auth bench-hj212 bench-scaleout bench-store bench-peers fuzz clean

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	bare=$$(for p in $(APT_BARE); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing$$bare" ]; then \
	  echo "apt: installing" $$missing $$bare; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  { [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; } && \
	  { [ -z "$$bare" ] || DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	      --no-install-recommends $$bare; }; \
	fi

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "OneMap needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)

$(STAMP)/venv: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	@mkdir -p $(STAMP) && touch $@

venv: $(STAMP)/venv

# The browser libraries the map serves itself (package.json, pinned by package-lock.json):
# Leaflet.VectorGrid draws the big layers from the server's vector tiles (axe-core, a dev
# dependency, checks accessibility in the browser tests). npm ci installs
# exactly the lock into node_modules (not committed), again only when the lock changes.
VENDOR_JS := node_modules/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js
$(VENDOR_JS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "node: installing Debian's npm"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	    --no-install-recommends npm; }
	npm ci --omit=peer --no-audit --no-fund --loglevel=error
	@touch $@

node: $(VENDOR_JS)

sample: venv
	$(BIN)/onemap sample

# LIVE=0: the map alone, without the HJ 212 receiver and the simulated devices.
LIVE ?= 1
run: apt venv node sample
	$(BIN)/onemap serve $(if $(filter 0,$(LIVE)),,--live --simulate)

# A local PostgreSQL 15 + PostGIS 3 cluster in var/postgres on 127.0.0.1:5433, made and started
# idempotently (as the postgres user when run as root); prints the ONEMAP_DATABASE_URL to use.
postgis: apt venv
	$(BIN)/onemap postgis

lint: venv
	$(BIN)/ruff check .

# Tile latency (ours vs raw rio-tiler) and throughput at 1/4/16 clients, then a year of hourly
# PM2.5 surfaces out of core vs in memory; see bench/README.md.
bench: venv sample
	$(BIN)/python bench/tiles.py
	$(BIN)/python bench/haze_year.py

# What the map costs per view on a national layer (1,000,000 sources, generated into
# var/bench-national once): the vector tiles of 1200×800 px views at zooms 5–15 over 6
# connections, cold and warm, checked against the R-tree, vs items?bbox and pyogrio (see
# bench/README.md).
bench-national: venv
	$(BIN)/python bench/viewload.py

# Vector tiles of the national layer (1,000,000 sources) per zoom, cold and cached, against
# GDAL's MVT writer on the same tiles (see bench/README.md).
bench-vtiles: venv
	$(BIN)/python bench/vtiles.py

# 32 connections for 60 s on items, tiles, collections and the map page, with one interactive
# client meanwhile: errors, req/s, p50/p99 (see bench/README.md).
bench-load: venv sample
	$(BIN)/python bench/load.py

# One worker vs two, tile cache off vs on: raster and vector tiles cold, stored, revalidated
# (304), throughput at 1/4/16/32 clients, memory per worker (see bench/README.md).
bench-scaleout: venv sample
	@command -v wrk >/dev/null || { sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq wrk; }
	$(BIN)/python bench/scaleout.py

# GeoPackage vs PostGIS on the national layer (1,000,000 sources): by id, counts, deep pages
# (offset and keyset), bbox, bbox + filter; ratios (see bench/README.md).
bench-store: venv apt
	$(BIN)/python bench/store.py

# OneMap on PostGIS vs TiPg 1.6 (own venv under var/bench-peers) and MapServer 8 (Debian's,
# under lighttpd FastCGI) on the same PostGIS table of 1,000,000 sources and the same NDVI COG:
# by key, pages, bbox, raster and vector tiles, a zoomed-out view, throughput at 1/4/16/32
# clients (see bench/README.md).
bench-peers: venv apt
	@for tool in lighttpd wrk; do command -v $$tool >/dev/null || missing="$$missing $$tool"; \
	  done; [ -z "$$missing" ] || { sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	  $$missing; }
	$(BIN)/python bench/peers.py

# Items and tiles as anonymous vs with an API key (authentication, policy, audit): ratios.
bench-auth: venv sample
	$(BIN)/python bench/auth.py

# The HJ 212 receiver: 3,000 devices' minute data steady and in a ×10 burst against a bare
# answering server, loss counted in the store, packet → alarm on the event stream.
bench-hj212: venv sample
	$(BIN)/python bench/hj212.py

test: apt venv node lint
	$(BIN)/pytest

# schemathesis against both OpenAPI documents of a server on freshly generated data (its own
# data dir, removed afterwards): the examples, coverage and fuzzing phases, ONEMAP_FUZZ_EXAMPLES
# cases per operation (default 10; ~40,000 cases in all, ~10 min); the report and the server log
# are left in test-artifacts/fuzz. `make test` runs a bounded version (test_fuzz.py).
fuzz: venv
	$(BIN)/python -m tests.mapserver.fuzzing

clean:
	rm -rf $(STAMP) test-artifacts
