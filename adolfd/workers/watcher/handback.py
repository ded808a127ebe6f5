"""Freeing an agent's tasks (seed 001 §7.5 `redistribute_agent_tasks`), shared by the offline check, the
panic handling and the manual job: its in-progress tasks, and the ids it had taken from a queue but not yet
started (its claimed list), become `pending` again, flagged to go back to the head of their queue
(`queues.flush_requeues` pushes them after the commit, in their original order)."""
from __future__ import annotations

from collections.abc import Sequence

import asyncpg

_HAND_BACK = """
UPDATE watcher_tasks
SET status = 'pending', agent_id = NULL, started_at = NULL, requeue = 'head'
WHERE (status = 'in_progress' AND agent_id = $1)
   OR (status = 'pending' AND id = ANY($2::bigint[]))
RETURNING id
"""


async def hand_back(conn: asyncpg.Connection, agent_id: int, claimed: Sequence[int] = ()) -> list[int]:
    """Ids freed (in-progress of the agent, plus its claimed ids still pending); call inside a transaction."""
    rows = await conn.fetch(_HAND_BACK, agent_id, list(claimed))
    return sorted(r["id"] for r in rows)


def claimed_ids(raw: Sequence[bytes | str]) -> list[int]:
    """Task ids from an agent's claimed list; anything that is not an id is ignored (it is not ours)."""
    ids = []
    for item in raw:
        text = item.decode() if isinstance(item, bytes) else item
        if text.isdigit():
            ids.append(int(text))
    return ids
