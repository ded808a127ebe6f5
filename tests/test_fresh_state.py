"""Each test starts from the same state whatever ran before it: the `res` reset of tests/conftest.py (tables
and id sequences, Redis, sandbox, the process's ad pacing) and `from_snapshot`. The tests of this file run in
order: the first leaves state behind, the next checks it is gone."""
from __future__ import annotations

from adolfd.settings import RateLimit

PACING_KEY = "fresh-state-probe"


async def test_a_test_leaves_rows_used_sequences_and_pacing_behind(res, sandbox):
    await res.db.execute("INSERT INTO failed_jobs (job_id, module, job_name, queue, error, tries) "
                         "VALUES ('j1', 'm', 'n', 'q', 'e', 1)")
    await res.db.execute("INSERT INTO alerts (module, alert_type, severity, message) VALUES ('m', 't', 'low', 'x')")
    await res.db.execute("DELETE FROM alerts")                   # empty again, but its id sequence moved on
    await res.paced.acquire(PACING_KEY, RateLimit(rate=0.01, burst=1))
    sandbox.sandbox.count("fresh_state_probe", "k")
    assert await res.db.fetchval("SELECT count(*) FROM failed_jobs") == 1


async def test_the_next_test_starts_empty_with_ids_from_one_and_no_pacing(res, sandbox):
    assert await res.db.fetchval("SELECT count(*) FROM failed_jobs") == 0
    new_id = await res.db.fetchval("INSERT INTO alerts (module, alert_type, severity, message) "
                                   "VALUES ('m', 't', 'low', 'x') RETURNING id")
    assert new_id == 1
    assert res.paced._due == {}
    assert sandbox.sandbox.counter("fresh_state_probe", "k") == 0


async def test_a_snapshot_brings_back_rows_ids_redis_and_sandbox_state_but_not_later_changes(
        res, sandbox, from_snapshot):
    async def build() -> str:
        await res.db.execute("INSERT INTO alerts (module, alert_type, severity, message) "
                             "VALUES ('m', 't', 'low', 'built')")
        await res.redis.set("fresh-state:probe", "built", ex=600)
        sandbox.sandbox.state("fresh-state")["book"] = {"bids": {"a": 1}}
        sandbox.sandbox.count("fresh_state_probe", "built")
        return "built"

    for attempt in range(2):                     # the first call builds, the second restores
        await res.db.execute("TRUNCATE alerts RESTART IDENTITY CASCADE")
        await res.redis.flushdb()
        sandbox.sandbox.reset()
        assert await from_snapshot("fresh-state-probe", build) == "built"
        assert await res.db.fetchval("SELECT message FROM alerts WHERE id = 1") == "built", attempt
        assert await res.db.fetchval("INSERT INTO alerts (module, alert_type, severity, message) "
                                     "VALUES ('m', 't', 'low', 'after') RETURNING id") == 2
        assert await res.redis.get("fresh-state:probe") == b"built"
        assert 0 < await res.redis.ttl("fresh-state:probe") <= 600
        assert sandbox.sandbox.counter("fresh_state_probe", "built") == 1
        book = sandbox.sandbox.state("fresh-state")["book"]
        assert book == {"bids": {"a": 1}}
        book["bids"]["a"] = 2                    # a test's change must not reach the snapshot
