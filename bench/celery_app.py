"""The Celery side of bench/compare.py: the same two jobs as adolfd's and bare ARQ's, run by Celery 5 from its own
virtual environment (bench/compare.sh builds it; Celery is never a dependency of adolfd).

`io` waits 50 ms (blocking, as a Celery task does) and round-trips Redis; `noop` only round-trips Redis.
The broker and result backend are BENCH_REDIS_URL. Also the producer: `python bench/celery_app.py io 400`.
"""
from __future__ import annotations

import os
import sys
import time

import redis
from celery import Celery

URL = os.environ["BENCH_REDIS_URL"]
app = Celery("bench", broker=URL, backend=URL)
app.conf.update(result_expires=3600, worker_hijack_root_logger=False, task_acks_late=False,
                broker_connection_retry_on_startup=True)
_redis: redis.Redis | None = None


def _ping() -> None:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(URL)
    _redis.ping()


@app.task(name="io")
def io(sleep_ms: int = 50) -> dict:
    time.sleep(sleep_ms / 1000)
    _ping()
    return {"status": "success"}


@app.task(name="noop")
def noop() -> dict:
    _ping()
    return {"status": "success"}


if __name__ == "__main__":
    kind, count = sys.argv[1], int(sys.argv[2])
    with app.producer_pool.acquire(block=True) as producer:
        for _ in range(count):
            (io if kind == "io" else noop).apply_async(kwargs={"sleep_ms": 50} if kind == "io" else {},
                                                       producer=producer)
