"""The liveness sweep frees exactly what dead processes hold: their job claims and their owned locks, after two
sweeps without a heartbeat; a living holder, an unowned claim and the sweeping process itself are left alone."""
from __future__ import annotations

from adolfd.engine import liveness
from adolfd.keys import ALIVE, OWNED_LOCKS
from arq.constants import in_progress_key_prefix

DEAD = "host-a:101:deadbeef"
LIVING = "host-b:202:cafebabe"
ME = "host-c:303:f00dface"


async def _hold(redis) -> None:
    await redis.set(in_progress_key_prefix + "job-of-dead", DEAD, px=600_000)
    await redis.set(in_progress_key_prefix + "job-of-living", LIVING, px=600_000)
    await redis.set(in_progress_key_prefix + "job-unowned", liveness.UNOWNED, px=600_000)
    await redis.set(in_progress_key_prefix + "job-of-me", ME, px=600_000)
    await redis.set("test:lock:dead", f"{DEAD}|0123", px=840_000)
    await redis.set("test:lock:living", f"{LIVING}|4567", px=840_000)
    await redis.sadd(OWNED_LOCKS, "test:lock:dead", "test:lock:living", "test:lock:gone")
    await redis.set(ALIVE.format(process=LIVING), "1", px=15_000)


async def test_only_a_dead_holders_claims_and_locks_are_freed_after_the_grace(res):
    redis = res.redis
    await _hold(redis)
    sweep = liveness.Sweep(grace=10)
    await liveness.sweep_once(redis, sweep, me=ME, now=1000.0)
    assert sweep.jobs == [] and sweep.locks == []                # one sweep without a heartbeat is not death
    assert set(sweep.suspects) == {DEAD}
    await liveness.sweep_once(redis, sweep, me=ME, now=1005.0)
    assert sweep.jobs == []                                      # still inside the grace
    await liveness.sweep_once(redis, sweep, me=ME, now=1010.0)
    assert sweep.jobs == ["job-of-dead"] and sweep.locks == ["test:lock:dead"]
    assert await redis.exists(in_progress_key_prefix + "job-of-dead", "test:lock:dead") == 0
    assert await redis.exists(in_progress_key_prefix + "job-of-living", in_progress_key_prefix + "job-unowned",
                              in_progress_key_prefix + "job-of-me", "test:lock:living") == 4
    assert sweep.suspects == {}


async def test_a_heartbeat_that_comes_back_clears_the_suspicion(res):
    redis = res.redis
    await _hold(redis)
    sweep = liveness.Sweep(grace=10)
    await liveness.sweep_once(redis, sweep, me=ME, now=1000.0)
    await redis.set(ALIVE.format(process=DEAD), "1", px=15_000)  # e.g. Redis restarted without persistence
    await liveness.sweep_once(redis, sweep, me=ME, now=1020.0)
    assert sweep.jobs == [] and sweep.suspects == {}
    assert await redis.exists(in_progress_key_prefix + "job-of-dead") == 1


async def test_a_claim_taken_again_meanwhile_is_not_freed(res):
    """The release compares the value: a claim that changed hands between the read and the release stays."""
    redis = res.redis
    await _hold(redis)
    sweep = liveness.Sweep(grace=0)
    await liveness.sweep_once(redis, sweep, me=ME, now=1.0)
    assert sweep.jobs == ["job-of-dead"]
    await redis.set(in_progress_key_prefix + "job-of-dead", LIVING, px=600_000)
    await redis.set("test:lock:dead", f"{DEAD}|0123", px=840_000)
    release = redis.register_script(liveness.RELEASE_IF_DEAD)
    assert await release(keys=[in_progress_key_prefix + "job-of-dead", ALIVE.format(process=DEAD)],
                         args=[DEAD]) == 0
    assert await redis.get(in_progress_key_prefix + "job-of-dead") == LIVING.encode()


def test_holder_of_reads_claims_and_lock_tokens():
    assert liveness.holder_of(DEAD.encode()) == DEAD
    assert liveness.holder_of(f"{DEAD}|0123".encode()) == DEAD
    assert liveness.holder_of(b"1") is None
    assert liveness.holder_of(b"5f1c0a9e8b7d4c3a") is None       # redis-py's own lock token
    assert liveness.holder_of(None) is None


async def test_a_claim_of_this_process_for_no_job_it_holds_is_freed_after_the_grace(res):
    """After a failover the new master can hold this process's claims for jobs whose finish went to the old
    master: they name no job the process holds. One sweep is not enough (a claim's reply may still be on its
    way); a claim held again, or taken by another process meanwhile, stays."""
    redis = res.redis
    for job in ("finished-elsewhere", "running", "held-later", "changed-hands"):
        await redis.set(in_progress_key_prefix + job, ME, px=600_000)
    holding = {"running"}
    sweep = liveness.Sweep(grace=10)
    await liveness.sweep_once(redis, sweep, me=ME, now=1000.0, running=lambda: holding)
    assert sweep.jobs == []
    assert set(sweep.strays) == {in_progress_key_prefix + j for j in ("finished-elsewhere", "held-later",
                                                                       "changed-hands")}
    holding.add("held-later")
    await redis.set(in_progress_key_prefix + "changed-hands", LIVING, px=600_000)
    await liveness.sweep_once(redis, sweep, me=ME, now=1005.0, running=lambda: holding)
    assert sweep.jobs == []                                       # inside the grace
    holding.discard("held-later")                                 # finished meanwhile: its grace starts again
    await liveness.sweep_once(redis, sweep, me=ME, now=1010.0, running=lambda: holding)
    assert sweep.jobs == ["finished-elsewhere"]
    assert await redis.exists(in_progress_key_prefix + "finished-elsewhere") == 0
    assert await redis.exists(in_progress_key_prefix + "running", in_progress_key_prefix + "held-later",
                              in_progress_key_prefix + "changed-hands") == 3
    assert await redis.get(in_progress_key_prefix + "changed-hands") == LIVING.encode()


async def test_without_the_jobs_it_holds_a_process_never_frees_its_own_claims(res):
    redis = res.redis
    await redis.set(in_progress_key_prefix + "job-of-me", ME, px=600_000)
    sweep = liveness.Sweep(grace=0)
    await liveness.sweep_once(redis, sweep, me=ME, now=1.0)
    await liveness.sweep_once(redis, sweep, me=ME, now=2.0)
    assert sweep.jobs == [] and await redis.exists(in_progress_key_prefix + "job-of-me") == 1


async def test_a_claim_kept_past_its_cron_jobs_end_is_unowned_and_never_a_stray(res):
    """ARQ keeps a cron job's claim for a while after it ends (so the same fire does not run twice); the finish
    rewrites it unowned, so its process's sweep does not free it as a claim for no job it holds."""
    from adolfd.engine.runtime import FINISH_JOB
    redis = res.redis
    finish = redis.register_script(FINISH_JOB)
    keys = [in_progress_key_prefix + "cron:job", "test:result", "test:retry", "test:job", "test:aborts",
            "test:queue", "test:runs", "test:ok"]
    for job, keep in (("cron:job", 60_000), ("plain:job", -1)):
        await redis.set(in_progress_key_prefix + job, ME, px=600_000)
        await finish(keys=[in_progress_key_prefix + job, *keys[1:]], args=[job, 1, b"r", 1000, 0, keep, "", ""])
    assert await redis.get(in_progress_key_prefix + "cron:job") == liveness.UNOWNED.encode()
    assert 59_000 < await redis.pttl(in_progress_key_prefix + "cron:job") <= 60_000
    assert await redis.exists(in_progress_key_prefix + "plain:job") == 0
    sweep = liveness.Sweep(grace=0)
    await liveness.sweep_once(redis, sweep, me=ME, now=1.0, running=set)
    assert sweep.jobs == [] and await redis.exists(in_progress_key_prefix + "cron:job") == 1
