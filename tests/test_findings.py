"""Findings reach the township (issue 9): the card with evidence, Read, Followed up, Open as
alert, /followups, /reports, and unregistered people in /overdue."""

from __future__ import annotations

from bot.emulator import FakeUser
from bot.storage import alerts as alerts_repo
from bot.storage import reports as reports_repo
from bot.storage.facts import BOT_USERNAME, fact
from tests.conftest import DATA, Env
from tests.steps import report_to_visited

FINDING = "村口有外来人员传教，部分村民聚集"


async def report_with_findings(user: FakeUser) -> None:
    """File this week's report: issues, unstable yes, follow-up yes, 3 photos, voice, location."""
    await report_to_visited(user)
    await user.send("8")
    await user.press("发现问题")
    await user.send(FINDING)
    await user.press("是")  # unstable
    await user.press("是")  # follow-up by the township
    await user.press("否")  # dispute
    for _ in range(3):
        await user.send_photo()
    await user.send_voice()
    await user.share_location(34.1, 113.2)
    await user.press("完成")
    await user.press("提交")


def card(env: Env, user: FakeUser) -> dict:
    return next(m for m in env.api.messages(user.id) if "巡查发现问题" in m.get("text", ""))


async def setup(env: Env) -> tuple[FakeUser, FakeUser, FakeUser]:
    await env.seed(DATA / "roster_two.csv")
    liaison = await env.bind("王建国")
    return liaison, await env.bind("冯兴敏"), await env.bind("陈明")


async def test_report_with_findings_reaches_commissioners_with_its_evidence(env: Env) -> None:
    liaison, feng, chen = await setup(env)
    leader = await env.bind("赵志强")
    await report_with_findings(liaison)
    await env.deliver()
    for boss in (feng, chen):
        c = card(env, boss)
        for expected in (
            "方庄村",
            "王建国 13800000001",
            FINDING,
            "需要乡里跟进：是",
            "不稳定因素：是",
            "编号 W48-方庄村，即第48周",
            "随后发送：照片3张、语音1条、位置",
            "尚无人阅读",
            "跟进：待跟进",
        ):
            assert expected in c["text"], (expected, c["text"])
        [album] = env.api.sent(boss.id, method="sendMediaGroup", ok=True)
        assert len(album.result) == 3
        assert album.result[0]["reply_to_message"]["message_id"] == c["message_id"]
        assert env.api.sent(boss.id, method="sendVoice", ok=True)
        [venue] = env.api.sent(boss.id, method="sendVenue", ok=True)
        assert "方庄村" in venue.params["title"]
    assert not any("巡查发现问题" in t for t in leader.texts())  # commissioners only

    # Read: who and when, on every copy.
    await feng.press("已阅", card(env, feng))
    await env.deliver()
    for boss in (feng, chen):
        assert "已阅：冯兴敏（统战委员" in card(env, boss)["text"]

    # It stays on /followups until someone marks it followed up, with a note.
    calls = await chen.command("/followups")
    assert "W48-方庄村" in calls[-1].text
    await chen.press("已跟进", card(env, chen))
    await chen.send("已到村里了解，人员已劝离")
    await env.deliver()
    for boss in (feng, chen):
        text = card(env, boss)["text"]
        assert "陈明已于" in text and "人员已劝离" in text and "待跟进" not in text
        assert "已跟进" not in str(card(env, boss).get("reply_markup"))
    assert any("已由陈明跟进" in t and "人员已劝离" in t for t in liaison.texts())
    calls = await chen.command("/followups")
    assert "没有待跟进" in calls[-1].text


async def test_open_as_alert_starts_a_linked_alert(env: Env) -> None:
    liaison, feng, chen = await setup(env)
    await report_with_findings(liaison)
    await env.deliver()
    await feng.press("转为预警", card(env, feng))
    await feng.press("宗教")
    calls = await feng.press("紧急")
    assert any("A-1" in (c.text or "") for c in calls)
    await env.deliver()
    alert = await alerts_repo.get_alert(env.db, 1)
    assert alert.report_id is not None and alert.state == "acknowledged"
    assert alert.description == FINDING and alert.village == "方庄村"
    report = await reports_repo.get_report(env.db, alert.report_id)
    assert report.alert_id == 1
    assert "已转为矛盾纠纷预警 A-1" in card(env, chen)["text"]
    # The alert card carries the report's evidence too.
    assert any("A-1" in t and "照片3张" in t for t in chen.texts())
    # A stranger from another township cannot press the buttons.
    other = await env.bind("钱进")
    await other.press_data(f"fu:read:{report.id}", card(env, feng))
    assert await env.db.fetchval("SELECT COUNT(*) FROM report_reads") == 0


async def test_commissioner_reads_reports_from_overdue_and_reports(env: Env) -> None:
    liaison, feng, _chen = await setup(env)
    await report_with_findings(liaison)
    await env.deliver()
    calls = await feng.command("/overdue")
    assert any("方庄村" in str(c.params.get("reply_markup")) for c in calls)
    await feng.press("方庄村")
    await env.deliver()
    assert sum("巡查发现问题" in t for t in feng.texts()) >= 2
    calls = await feng.command("/reports")
    assert "第48周（11月23日—29日）" in calls[-1].text and "方庄村：按时" in calls[-1].text
    calls = await feng.press("◀ 上一周")
    assert "第47周" in feng.texts()[-1]


async def test_unregistered_liaison_shows_up_in_overdue_with_an_invite_link(env: Env) -> None:
    from bot.__main__ import _invite_text, _with_link
    from bot.app import record_username

    feng = await env.bind("冯兴敏")
    await record_username(env.deps, env.app.bot.username)  # what start-up does
    calls = await feng.command("/overdue")
    unreg = next(c.text for c in calls if "还没有绑定" in (c.text or ""))
    assert "王建国" in unreg and "13800000001" in unreg and "方庄村" in unreg
    calls = await feng.press("王建国的邀请链接")
    username = await fact(env.db, BOT_USERNAME)
    assert username and f"https://t.me/{username}?start=" in calls[-1].text
    calls = await feng.command("/stats")
    assert any("还没有绑定" in (c.text or "") for c in calls)
    # The CLI prints ready links once the bot has recorded its username.
    row = _with_link({"invite_code": "ABCD2345"}, username)
    assert _invite_text(row) == f"invite link https://t.me/{username}?start=ABCD2345"
    assert _invite_text(_with_link({"invite_code": "ABCD2345"}, None)) == "invite code ABCD2345"


async def test_findings_without_a_bound_commissioner_go_to_the_leader(env: Env) -> None:
    liaison = await env.bind("王建国")
    leader = await env.bind("赵志强")
    county = await env.bind("孙丽", language_code="en")
    await report_with_findings(liaison)
    await env.deliver()
    assert "巡查发现问题" in card(env, leader)["text"]
    assert not any("patrol found" in t for t in county.texts())
    # The county reads any township's reports.
    calls = await county.command("/reports")
    assert "[河口乡]" in calls[-1].text and "[金汇镇]" in calls[-1].text
    await county.press("方庄村")
    await env.deliver()
    assert any("patrol found problems" in t for t in county.texts())
