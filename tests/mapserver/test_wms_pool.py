"""The MapServer worker pool: real workers (Debian's Python and mapscript) answer one request
at a time; a worker that dies is replaced and the next request is answered."""
from __future__ import annotations

import asyncio
import os
import signal

from onemap import catalog
from onemap.config import Settings
from onemap.mapserver import wms_mapfile
from onemap.mapserver.wms_pool import Pool, Unavailable
from tests.loops import run

CAPS = [["SERVICE", "WMS"], ["REQUEST", "GetCapabilities"], ["VERSION", "1.3.0"]]


async def _read(pool: Pool, payload: dict) -> tuple[int, str, bytes]:
    answer, body = await pool.request(payload)
    return answer.status, answer.content_type, b"".join([c async for c in body])


def test_workers_answer_and_a_dead_one_is_replaced(own_runtime: Settings) -> None:
    folder = wms_mapfile.write(own_runtime, catalog.load(own_runtime))
    payload = {"mapfile": str(folder / "wms.map"), "query": CAPS, "layers": ["rivers"],
               "filters": {}, "online": "http://example.test/wms?"}

    async def scenario() -> None:
        pool = Pool(2, 60)
        await pool.start()
        try:
            answers = await asyncio.gather(*[_read(pool, payload) for _ in range(4)])
            for status, ctype, body in answers:
                assert status == 0 and ctype.startswith("text/xml")
                assert b"<Name>rivers</Name>" in body and b"<Name>water_bodies</Name>" not in body
                assert b"http://example.test/wms?" in body  # the public URL, per request
            for worker in pool._all:
                os.kill(worker.proc.pid, signal.SIGKILL)
                await worker.proc.wait()
            failed = 0
            for _ in range(4):  # each dead worker fails its one request, then is replaced
                try:
                    status, _, body = await _read(pool, payload)
                except Unavailable:
                    failed += 1
                    continue
                assert status == 0 and b"<Name>rivers</Name>" in body
            assert failed <= 2 and len(pool._all) == 2
        finally:
            await pool.stop()
        assert pool._all == []

    run(scenario(), timeout=300)


def test_a_worker_over_its_time_is_replaced(own_runtime: Settings) -> None:
    """A drawing longer than the pool's timeout: Unavailable (503 at /wms), the worker killed
    and replaced, the next request answered."""
    folder = wms_mapfile.write(own_runtime, catalog.load(own_runtime))
    big = {"mapfile": str(folder / "wms.map"), "layers": ["ndvi_2025_07", "rivers"],
           "filters": {}, "online": "http://example.test/wms?", "query": [
               ["SERVICE", "WMS"], ["VERSION", "1.3.0"], ["REQUEST", "GetMap"],
               ["LAYERS", "ndvi_2025_07,rivers"], ["STYLES", ""], ["CRS", "EPSG:4490"],
               ["BBOX", "30.9,116.7,32.2,118.2"], ["WIDTH", "4096"], ["HEIGHT", "4096"],
               ["FORMAT", "image/png"]]}

    async def scenario() -> None:
        pool = Pool(1, 0.05)  # no 4096² drawing and PNG takes 50 ms
        await pool.start()
        try:
            first = pool._all[0].proc.pid
            try:
                await _read(pool, big)
            except Unavailable:
                pass
            else:
                raise AssertionError("a drawing longer than the timeout was answered")
            pool.timeout = 120
            status, ctype, body = await _read(pool, {**big, "query": CAPS})
            assert status == 0 and b"<Name>ndvi_2025_07</Name>" in body
            assert len(pool._all) == 1 and pool._all[0].proc.pid != first
        finally:
            await pool.stop()

    run(scenario(), timeout=300)


def test_no_workers_is_unavailable() -> None:
    async def scenario() -> None:
        pool = Pool(0, 5)
        await pool.start()
        try:
            await pool.request({})
        except Unavailable as exc:
            assert "MapServer" in str(exc)
        else:
            raise AssertionError("a pool without workers answered")

    run(scenario(), timeout=300)
