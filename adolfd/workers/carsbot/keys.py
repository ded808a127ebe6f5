"""Every Redis key and job id carsbot uses (seed 004), in one place.

Job ids make an enqueue happen once: ARQ refuses a second job with an id that is queued, running or has a kept
result, so a post is processed and published once however often it is handed in.
"""
from __future__ import annotations

MODULE = "carsbot"

SYNC_LOCK = "carsbot:lock:{job}"                         # a sheet sync never overlaps itself (any host)
PROCESS_JOB = "carsbot:process:{post_id}"                # first processing of a stored post
PROCESS_AGAIN_JOB = "carsbot:process:{post_id}:{reason}:{n}"   # after an LLM outage, an edit, an operator
PUBLISH_JOB = "carsbot:publish:{post_id}"
PUBLISH_AGAIN_JOB = "carsbot:publish:{post_id}:{reason}:{n}"   # after Telegram's retry_after, an operator
