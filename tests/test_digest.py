"""The weekly digest: contents with and without activity, no sensitive details, split, /digest."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.digest import Digest, OpenAlertLine, QuotaLine, VillageLine, duration, render_digest
from bot.emulator import FakeGroup
from bot.i18n import I18n
from bot.storage.db import to_db_time
from tests.conftest import ROSTER as ROSTER_PATH
from tests.conftest import Env, make_env
from tests.test_weekly import add_report, at, local

TZ = ZoneInfo("Asia/Shanghai")
I18N = I18n(TZ)


def test_render_empty_and_busy_digest() -> None:
    t = I18N.get("zh_Hans")
    empty = Digest(
        "河口乡", "2026-W48", datetime(2026, 11, 23).date(), [VillageLine("方庄村", False)]
    )
    text = render_digest(empty, t)
    assert "0/1" in text and "方庄村" in text and "没有未化解" in text and "—" in text
    busy = Digest(
        "河口乡",
        "2026-W48",
        datetime(2026, 11, 23).date(),
        [
            VillageLine("方庄村", True),
            VillageLine("高河村", True, late=True),
            VillageLine("大朱村", False),
        ],
        opened=3,
        acknowledged=2,
        resolved=1,
        escalated=1,
        open_now=[OpenAlertLine("高河村", "high", timedelta(days=2, hours=3))],
        median_ack_seconds=754,
        quotas=[QuotaLine(["info.kind.work_update"], "month", "2026-11", 1, 3)],
    )
    text = render_digest(busy, t)
    for expected in (
        "2/3",
        "按时 1 个，迟报 1 个",
        "大朱村",
        "新报 3 件",
        "已签收 2 件",
        "已化解 1 件",
        "升级 1 件",
        "12分钟",
        "高河村 · 紧急 · 已 2天3小时",
        "1/3",
    ):
        assert expected in text, expected
    assert "第48周（11月23日—29日）" in text and "2026年11月" in text
    en = render_digest(busy, I18N.get("en"))
    assert "Reported: 2/3" in en and "12 min" in en and "November 2026" in en


def test_duration() -> None:
    t = I18N.get("en")
    assert duration(59, t) == "0 min"
    assert duration(3 * 3600 + 120, t) == "3 h 2 min"
    assert duration(86400 * 3 + 3600, t) == "3 d 1 h"


async def add_alert(
    env: Env,
    village: str,
    severity: str,
    created: datetime,
    *,
    ack_after: int | None = None,
    resolved: bool = False,
    escalated: bool = False,
) -> None:
    row = await env.db.fetchone(
        "SELECT v.id, v.township_id FROM villages v WHERE v.name = ?", (village,)
    )
    person = await env.db.fetchval("SELECT id FROM people WHERE role = 'liaison' LIMIT 1")
    ack = created + timedelta(seconds=ack_after) if ack_after is not None else None
    async with env.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO alerts (township_id, village_id, person_id, category, severity,"
            " description, place_text, state, level_since, created_at, acknowledged_at,"
            " ack_seconds, resolved_at, escalated) VALUES (?, ?, ?, 'land', ?,"
            " '张三与李四争地,涉及宗教场所', '东头老槐树下', ?, ?, ?, ?, ?, ?, ?)",
            (
                row[1],
                row[0],
                person,
                severity,
                "resolved" if resolved else ("acknowledged" if ack else "open"),
                to_db_time(created),
                to_db_time(created),
                to_db_time(ack) if ack else None,
                ack_after,
                to_db_time(created + timedelta(hours=5)) if resolved else None,
                int(escalated),
            ),
        )


async def add_submission(env: Env, kind: str, when: datetime) -> None:
    row = await env.db.fetchone(
        "SELECT id, township_id, village_id FROM people WHERE name = '王建国'"
    )
    async with env.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO submissions (township_id, village_id, person_id, kind, title, body,"
            " submitted_at, updated_at) VALUES (?, ?, ?, ?, '秘密标题', '正文', ?, ?)",
            (row[1], row[2], row[0], kind, to_db_time(when), to_db_time(when)),
        )


async def bound_group(env: Env) -> FakeGroup:
    boss = await env.bind("冯兴敏")
    group = FakeGroup(env.api, env.driver, -1009990001, title="河口乡统战群")
    await boss.in_group(group).command("/bindgroup")
    return group


def digests(env: Env, chat_id: int) -> list[str]:
    return [t for t in env.api.texts(chat_id) if "周报" in t and "第48周" in t]


async def test_digest_posted_even_when_the_week_was_empty(env: Env) -> None:
    group = await bound_group(env)
    await at(env, local(2026, 11, 25, 8, 59))
    assert digests(env, group.id) == []
    await at(env, local(2026, 11, 25, 9, 0))
    got = digests(env, group.id)
    assert len(got) == 1
    text = got[0]
    assert "0/6" in text and "没有未化解" in text
    for v in ("方庄村", "高河村", "大朱村", "刘振屯村", "马庄村", "大黄村"):
        assert v in text
    await at(env, local(2026, 11, 25, 12, 0))
    assert len(digests(env, group.id)) == 1


async def test_digest_with_activity_has_counts_and_no_sensitive_details(env: Env) -> None:
    group = await bound_group(env)
    for name in ("王建国", "李秀英", "张伟"):
        await env.bind(name)
    await add_report(env, "王建国")
    await add_report(env, "李秀英")
    await add_report(env, "张伟", late=True)
    await add_alert(env, "高河村", "high", local(2026, 11, 19, 10), ack_after=600, resolved=True)
    await add_alert(
        env, "大朱村", "critical", local(2026, 11, 23, 10), ack_after=1200, escalated=True
    )
    await add_alert(env, "马庄村", "medium", local(2026, 11, 24, 10))
    await add_alert(env, "方庄村", "low", local(2026, 11, 10, 10))  # before the 7 days, still open
    await add_alert(env, "大黄村", "low", local(2026, 11, 25, 9, 30))  # after the post
    await add_submission(env, "work_update", local(2026, 11, 24, 10))
    await add_submission(env, "highlight", local(2026, 11, 20, 10))
    await at(env, local(2026, 11, 25, 9, 0))
    [text] = digests(env, group.id)
    for expected in (
        "3/6",
        "按时 2 个，迟报 1 个",
        "刘振屯村",
        "新报 3 件",
        "已签收 2 件",
        "已化解 1 件",
        "上报升级",
        "15分钟",
        "尚未化解（3）",
        "马庄村 · 一般",
        "方庄村 · 轻微",
        "11月18日 09:00—11月25日 09:00",
        "本时段报送信息 2 篇",
    ):
        assert expected in text, (expected, text)
    assert "工作动态" in text or "work" in text.lower()
    # Counts and village names only: no people, descriptions, places or titles.
    for secret in (
        "王建国",
        "李秀英",
        "张伟",
        "冯兴敏",
        "张三",
        "宗教",
        "老槐树",
        "秘密标题",
        "138",
    ):
        assert secret not in text, secret


async def test_slash_digest_in_group_and_private(env: Env) -> None:
    group = await bound_group(env)
    boss = env.users["冯兴敏"]
    env.clock.set(local(2026, 11, 25, 10, 0))
    await boss.command("/digest")
    await env.deliver()
    assert len(digests(env, boss.id)) == 1
    await boss.in_group(group).command("/digest")
    await env.deliver()
    assert len(digests(env, group.id)) == 1
    liaison = await env.bind("王建国")
    calls = await liaison.command("/digest")
    await env.deliver()
    assert digests(env, liaison.id) == [] and calls
    # A commissioner in an unbound group is told to bind it.
    other = FakeGroup(env.api, env.driver, -777, title="别的群")
    calls = await boss.in_group(other).command("/digest")
    assert any("/bindgroup" in (c.text or "") for c in calls)


async def test_missed_digest_sent_late_once_or_dropped_after_a_day(tmp_path: Path) -> None:
    env, driver = await make_env(tmp_path)
    try:
        group = await bound_group(env)
        await at(env, local(2026, 11, 26, 8, 59))  # 23 h 59 min late
        assert len(digests(env, group.id)) == 1
        await at(env, local(2026, 11, 26, 9, 30))
        assert len(digests(env, group.id)) == 1
        # The next week's digest, 25 h late, is dropped.
        await at(env, local(2026, 12, 3, 10, 0))
        assert [t for t in env.api.texts(group.id) if "第49周" in t] == []
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


def write_roster(path: Path, villages: int) -> list[str]:
    names = [
        f"第{i:02d}联合村民委员会下辖的新时代文明实践示范社区{i:02d}号" for i in range(villages)
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["township", "village", "name", "role", "phone", "telegram_id"])
        for i, v in enumerate(names):
            w.writerow(["大河镇", v, f"联络员{i:02d}", "liaison", f"139{i:08d}", ""])
        w.writerow(["大河镇", "", "钱委员", "commissioner", "13900009999", ""])
    return names


async def test_sixty_village_township_digest_is_split_not_truncated(tmp_path: Path) -> None:
    env, driver = await make_env(tmp_path)
    try:
        names = write_roster(tmp_path / "roster60.csv", 60)
        await env.seed(tmp_path / "roster60.csv")
        boss = await env.bind("钱委员")
        group = FakeGroup(env.api, env.driver, -1008880001, title="大河镇")
        await boss.in_group(group).command("/bindgroup")
        for name in names:
            await add_alert(env, name, "medium", local(2026, 11, 24, 10))
        await at(env, local(2026, 11, 25, 9, 0))
        sends = [
            c
            for c in env.api.sent(group.id, method="sendMessage", ok=True)
            if "/bindgroup" not in (c.params.get("text") or "")
        ]
        texts = [c.params["text"] for c in sends if "周报群" not in c.params["text"]]
        assert len(texts) >= 2
        assert all(len(t) <= 4096 for t in texts)
        whole = "\n".join(texts)
        assert "0/60" in whole and "尚未化解（60）" in whole
        for name in names:
            assert name in whole
        assert whole.count(names[5]) == 2  # once missing, once with its open alert
    finally:
        await driver.__aexit__(None, None, None)
        await env.db.close()
    env.api.assert_no_violations()


async def test_wednesday_digest_names_the_week_just_due_and_matches_the_overdue_list(
    env: Env,
) -> None:
    """Issue 9: at Wed 25 Nov 09:00 the digest reported week 47 beside week 48's overdue list."""
    group = await bound_group(env)
    boss = env.users["冯兴敏"]
    await env.bind("王建国")
    await env.bind("李秀英")
    await add_report(env, "王建国")  # week 48, on time
    await add_report(env, "李秀英", week="2026-W47")  # last week only
    await at(env, local(2026, 11, 25, 9, 0))
    [digest] = [t for t in env.api.texts(group.id) if "巡查第" in t]
    [overdue] = [t for t in env.api.texts(boss.id) if "逾期名单" in t]
    assert "第48周（11月23日—29日）" in digest and "第47周" not in digest
    assert "第48周" in overdue
    assert "1/6" in digest and "5/6" in overdue
    missing_in_digest = {
        v
        for v in ("方庄村", "高河村", "大朱村", "刘振屯村", "马庄村", "大黄村")
        if f"· {v}" in digest
    }
    missing_in_list = {
        v
        for v in ("方庄村", "高河村", "大朱村", "刘振屯村", "马庄村", "大黄村")
        if f"· {v}" in overdue
    }
    assert (
        missing_in_digest == missing_in_list == {"高河村", "大朱村", "刘振屯村", "马庄村", "大黄村"}
    )


def roster_with_new_village(tmp_path: Path) -> Path:
    extended = tmp_path / "roster_more.csv"
    rows = ROSTER_PATH.read_text(encoding="utf-8") + "河口乡,新建村,钱多多,liaison,13900000001,\n"
    extended.write_text(rows, encoding="utf-8")
    return extended


async def test_a_village_counts_only_from_the_week_it_joined(env: Env, tmp_path: Path) -> None:
    """Issue 9: a village added after week 48's deadline is not counted missing for week 48."""
    group = await bound_group(env)
    boss = env.users["冯兴敏"]
    extended = roster_with_new_village(tmp_path)
    env.clock.set(local(2026, 11, 25, 8, 0))  # after Tuesday's deadline
    await env.seed(extended, ago=timedelta(0))
    await at(env, local(2026, 11, 25, 9, 0))
    [digest] = [t for t in env.api.texts(group.id) if "巡查第" in t]
    [overdue] = [t for t in env.api.texts(boss.id) if "逾期名单" in t]
    assert "0/6" in digest and "新建村" not in digest
    assert "6/6" in overdue and "新建村" not in overdue


async def test_weekly_digest_carries_a_chart_uploaded_once(env: Env) -> None:
    group = await bound_group(env)
    await at(env, local(2026, 11, 25, 9, 0))
    photos = env.api.sent(group.id, method="sendPhoto")
    assert len(photos) == 1 and photos[0].ok
    upload = next(iter(photos[0].files.values()))
    assert upload.content.startswith(b"\x89PNG")
    assert photos[0].text == "河口乡"
    await at(env, local(2026, 11, 25, 12, 0))
    assert len(env.api.sent(group.id, method="sendPhoto")) == 1
    # The stored upload is dropped by housekeeping once sent and old.
    await at(env, local(2026, 11, 28, 12, 0))
    assert await env.db.fetchval("SELECT COUNT(*) FROM outbox_files") == 0


async def test_commissioners_own_digest_is_followed_by_the_township_chart(env: Env) -> None:
    group = await bound_group(env)
    boss = env.users["冯兴敏"]
    env.clock.set(local(2026, 11, 25, 10, 0))
    for chat_id, user in ((boss.id, boss), (group.id, boss.in_group(group))):
        await user.command("/digest")
        await env.deliver()
        sends = [
            c
            for c in env.api.calls
            if c.chat_id == chat_id and c.ok and c.method in ("sendMessage", "sendPhoto")
        ]
        text, photo = sends[-2], sends[-1]
        assert text.method == "sendMessage" and "第48周" in (text.text or "")
        assert photo.method == "sendPhoto" and photo.text == "河口乡"
        assert next(iter(photo.files.values())).content.startswith(b"\x89PNG")
