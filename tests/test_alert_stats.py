"""alert_stats: counts of alerts created in a window, and what is still open."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.alert import AlertDraft
from bot.storage import alerts as repo


async def _raise(env, name: str, severity: str = "high") -> int:
    person = await env.on_roster(name)
    draft = AlertDraft(
        category="land", severity=severity, people_count=3, place_text="x", description="d"
    )
    async with env.db.transaction() as tx:
        return await repo.create_alert(
            tx,
            env.clock.now(),
            draft,
            person_id=person.id,
            township_id=person.township_id,
            village_id=person.village_id,
        )


async def test_alert_stats_counts_and_open_list(env):
    await env.seed()
    start = env.clock.now()
    first = await _raise(env, "王建国")
    env.clock.advance(minutes=10)
    second = await _raise(env, "李秀英", "low")
    other = await _raise(env, "吴芳")
    commissioner = await env.on_roster("冯兴敏")
    env.clock.advance(minutes=20)
    now = env.clock.now()
    async with env.db.transaction() as tx:
        a = await repo.get_alert(tx, first)
        assert await repo.acknowledge(tx, a, commissioner.id, now)
        b = await repo.get_alert(tx, second)
        assert await repo.acknowledge(tx, b, commissioner.id, now)
        b = await repo.get_alert(tx, second)
        assert await repo.resolve(tx, b, commissioner.id, now, "village", "ok")
        assert await repo.climb(tx, await repo.get_alert(tx, other), now, None, None, 2)
    stats = await repo.alert_stats(
        env.db, start, now + timedelta(seconds=1), now, township_id=a.township_id
    )
    assert (stats.opened, stats.acknowledged, stats.resolved, stats.escalated) == (2, 2, 1, 0)
    assert [o.id for o in stats.open_now] == [first]
    assert stats.open_now[0].age == timedelta(minutes=30)
    assert stats.median_ack_seconds == (30 * 60 + 20 * 60) / 2
    every = await repo.alert_stats(env.db, start, now, now)
    assert every.opened == 3 and every.escalated == 1
    assert [o.id for o in every.open_now] == [first, other]
    empty = await repo.alert_stats(env.db, now, now + timedelta(days=1), now)
    assert empty.opened == 0 and empty.median_ack_seconds is None
