"""Surface series on dask.distributed: a LocalCluster of worker processes by default, or the
cluster ``ONEMAP_DASK_SCHEDULER`` names; the cube equals the one computed in this process's
threads, and its blocks ran on the cluster's workers."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import pytest
import xarray as xr
from distributed import LocalCluster, get_task_stream

from onemap.analysis import cluster
from onemap.analysis import series as R
from onemap.analysis import surfaces as S
from onemap.config import Settings
from onemap.layers.store import read_layer
from onemap.mapserver.processing import data

SPAN = ("2025-01-24 01:00", "2025-01-27 00:00")


@pytest.fixture(scope="module")
def reference(sample_settings: Settings, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[Settings, xr.Dataset]:
    region = read_layer("admin_boundaries", sample_settings)
    stations = read_layer("air_stations", sample_settings)
    out = R.surface_series(stations, functools.partial(data.read_hourly, sample_settings),
                           *SPAN, grid=S.region_grid(region, 0.02), region=region,
                           out=tmp_path_factory.mktemp("threads") / "pm25.zarr", chunk_hours=12)
    return sample_settings, xr.open_zarr(out, consolidated=False).load()


@pytest.fixture()
def closed() -> Iterator[None]:
    yield
    cluster.close_all()


def _run(settings: Settings, client, out) -> tuple[xr.Dataset, set[str]]:  # type: ignore[no-untyped-def]
    region = read_layer("admin_boundaries", settings)
    stations = read_layer("air_stations", settings)
    with get_task_stream(client) as stream:
        path = R.surface_series(stations, functools.partial(data.read_hourly, settings), *SPAN,
                                grid=S.region_grid(region, 0.02), region=region, out=out,
                                chunk_hours=12, scheduler=client)
    workers = {task["worker"] for task in stream.data}
    return xr.open_zarr(path, consolidated=False).load(), workers


def test_a_local_cluster_of_two_workers(reference, tmp_path, closed) -> None:  # type: ignore[no-untyped-def]
    settings, expected = reference
    local = Settings(data_dir=settings.data_dir, dask_workers=2)
    client = cluster.client(local)
    assert client is cluster.client(local)  # started once per process
    assert len(client.nthreads()) == 2 and cluster.threads(client) == 2
    got, workers = _run(local, client, tmp_path / "pm25.zarr")
    assert len(workers) == 2, workers  # the six blocks were shared out
    np.testing.assert_array_equal(got.pm25.values, expected.pm25.values)
    np.testing.assert_array_equal(got.time.values, expected.time.values)


def test_the_cluster_named_by_onemap_dask_scheduler(reference, tmp_path, closed) -> None:  # type: ignore[no-untyped-def]
    settings, expected = reference
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as existing:
        remote = Settings(data_dir=settings.data_dir, dask_scheduler=existing.scheduler_address)
        client = cluster.client(remote)
        assert client.scheduler.address == existing.scheduler_address
        got, workers = _run(remote, client, tmp_path / "pm25.zarr")
        assert workers and workers <= set(existing.scheduler_info["workers"])
        np.testing.assert_array_equal(got.pm25.values, expected.pm25.values)
        cluster.close_all()  # our client goes; the cluster is not ours to stop
        assert existing.status.name == "running"
