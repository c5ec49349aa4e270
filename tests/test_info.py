"""End-to-end: /info submissions, review (adopt / return → revise → resubmit), /review."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage.submissions import SubmissionRepo
from tests.conftest import Env

ROSTER_INFO = Path(__file__).parent / "data" / "roster_info.csv"

KIND_LABELS = {
    "work_update": "工作动态",
    "experience_summary": "经验总结",
    "highlight": "亮点特色",
    "public_opinion": "社情民意",
}


async def submit(
    env: Env,
    user,
    kind_label: str = "工作动态",
    title: str = "村里召开统战例会",
    body: list[str] | None = None,
) -> int:
    await user.command("/info")
    await user.press(kind_label)
    await user.send(title)
    for part in body or ["本周召开例会一次。"]:
        await user.send(part)
    await user.press("完成")
    await user.press("跳过")
    calls = await user.press("报送")
    text = calls[-1].text or ""
    assert "I-" in text, text
    return int(text.split("I-")[1].split("。")[0])


@pytest.mark.parametrize("kind", list(KIND_LABELS))
async def test_each_kind_is_submitted_and_sent_to_the_commissioner(env: Env, kind: str) -> None:
    liaison = await env.bind("王建国")
    boss = await env.bind("冯兴敏")
    sid = await submit(env, liaison, KIND_LABELS[kind])
    sub = await SubmissionRepo(env.db).get(sid)
    assert sub is not None and sub.kind == kind and sub.state == "pending"
    assert sub.village == "方庄村"
    await env.deliver()
    msg = boss.last_message()
    assert msg is not None and f"I-{sid}" in msg["text"] and KIND_LABELS[kind] in msg["text"]


async def test_multi_message_body_attachments_and_wrong_inputs(env: Env) -> None:
    liaison = await env.bind("王建国")
    boss = await env.bind("冯兴敏")
    await liaison.command("/info")
    calls = await liaison.send("随便写")  # text where a button is expected
    assert "按钮" in calls[0].text
    await liaison.press("经验总结")
    calls = await liaison.send("长" * 61)
    assert "61" in calls[-1].text and "60" in calls[-1].text
    calls = await liaison.send_photo()
    assert "文字" in calls[-1].text
    await liaison.send("矛盾纠纷调解经验")
    await liaison.send("第一段:群众工作。")
    await liaison.send_photo()  # a photo in the body step is re-prompted, not kept
    await liaison.send("第二段:依法调解。")
    calls = await liaison.send("多" * 3990)
    assert "没有保存" in calls[-1].text
    await liaison.press("完成")
    for _ in range(6):
        await liaison.send_photo()
    assert "最多5张" in liaison.texts()[-1]
    calls = await liaison.send_document(
        "big.zip", file_size=21 * 1024 * 1024, mime_type="application/zip"
    )
    assert "20MB" in calls[-1].text
    await liaison.send_document("材料.pdf", file_size=2000)
    calls = await liaison.press("附件完成")
    summary = calls[-1].text
    assert "第一段:群众工作。\n\n第二段:依法调解。" in summary
    assert "照片：5 张" in summary and "文件：1 个" in summary
    await liaison.press("报送")
    sub = (await SubmissionRepo(env.db).pending(None))[0]
    assert sub.body == "第一段:群众工作。\n\n第二段:依法调解。"
    assert len(await SubmissionRepo(env.db).attachments(sub.id)) == 6
    # /review lists it, and opening it sends the photos and the document by file_id.
    await env.deliver()
    await boss.command("/review")
    calls = await boss.press(f"I-{sub.id}")
    methods = [c.method for c in calls]
    assert methods.count("sendPhoto") == 5 and methods.count("sendDocument") == 1
    assert "采用" in [b for c in calls for b in c.buttons] or calls[-1].buttons


async def test_return_revise_resubmit_adopt(env: Env) -> None:
    liaison = await env.bind("王建国")
    boss = await env.bind("冯兴敏")
    sid = await submit(env, liaison, title="初稿标题")
    await env.deliver()
    await boss.press("退回")
    calls = await boss.send("请补充具体人数。")
    assert f"I-{sid}" in calls[-1].text
    await env.deliver()
    assert "请补充具体人数" in liaison.texts()[-1]
    sub = await SubmissionRepo(env.db).get(sid)
    assert sub is not None and sub.state == "returned"
    # Revise from /mine (the report engineer's /mine menu sends "mine:i").
    last = liaison.last_message()
    assert last is not None
    await liaison.press_data("mine:i", last)
    await liaison.press(f"I-{sid}")
    await liaison.press("修改后重报")
    await liaison.press("修改")
    await liaison.press("标题")
    await liaison.send("修改后的标题")
    await liaison.press("修改")
    await liaison.press("正文")
    await liaison.send("本周召开例会一次,参加32人。")
    await liaison.press("完成")
    calls = await liaison.press("报送")
    assert f"I-{sid}" in calls[-1].text
    sub = await SubmissionRepo(env.db).get(sid)
    assert sub is not None and sub.state == "pending" and sub.version == 2
    versions = await env.db.fetchall(
        "SELECT version, title FROM submission_versions WHERE submission_id = ? ORDER BY version",
        (sid,),
    )
    assert [tuple(v) for v in versions] == [(1, "初稿标题"), (2, "修改后的标题")]
    await env.deliver()
    assert "修改稿" in boss.last_message()["text"]
    # The old (version 1) buttons no longer work; the new ones do.
    await boss.press("采用")
    sub = await SubmissionRepo(env.db).get(sid)
    assert sub is not None and sub.state == "adopted"
    await env.deliver()
    assert "已被采用" in liaison.texts()[-1]
    calls = await boss.press_data(f"info:ok:{sid}:2", boss.last_message())
    assert any("已经处理" in str(c.params.get("text", "")) for c in calls)


async def test_reviewer_of_another_township_is_refused(env: Env) -> None:
    await env.seed(ROSTER_INFO)
    liaison = await env.bind("王建国")
    ours = await env.bind("冯兴敏")
    theirs = await env.bind("郑金汇")
    sid = await submit(env, liaison)
    await env.deliver()
    assert f"I-{sid}" in ours.last_message()["text"]
    assert not any(f"I-{sid}" in t for t in theirs.texts())
    await theirs.command("/review")
    assert "没有待审核" in theirs.texts()[-1]
    msg = theirs.last_message()
    for data in (f"info:ok:{sid}:1", f"info:ret:{sid}:1", f"info:o:{sid}"):
        calls = await theirs.press_data(data, msg)
        refusals = [c for c in calls if c.method == "answerCallbackQuery"]
        assert refusals and refusals[0].params.get("show_alert")
    sub = await SubmissionRepo(env.db).get(sid)
    assert sub is not None and sub.state == "pending"
    # A liaison cannot adopt either, nor open someone else's submission.
    other = await env.bind("李秀英")
    calls = await other.press_data(f"info:m:{sid}", other.last_message())
    assert any(c.method == "answerCallbackQuery" and c.params.get("show_alert") for c in calls)


async def test_draft_survives_restart_and_expires_after_a_day(env: Env) -> None:
    liaison = await env.bind("王建国")
    await liaison.command("/info")
    await liaison.press("工作动态")
    await liaison.send("标题")
    env.clock.advance(minutes=25 * 60)
    calls = await liaison.send("正文")
    assert "24小时" in calls[-1].text
    calls = await liaison.send("再发一条")
    assert not any("已收到" in (c.text or "") for c in calls)
    calls = await liaison.command("/info")
    assert "类别" in calls[-1].text
    await liaison.command("/cancel")
    assert "已取消" in liaison.texts()[-1]


async def test_long_submission_opens_in_parts_within_limits(env: Env) -> None:
    liaison = await env.bind("王建国")
    boss = await env.bind("冯兴敏")
    await submit(env, liaison, title="题" * 60, body=["长" * 2000, "文" * 1998])
    await env.deliver()
    await boss.command("/review")
    calls = await boss.press("I-")
    sends = [c for c in calls if c.method == "sendMessage"]
    assert len(sends) == 2 and all(len(c.text) <= 4096 for c in sends)
    assert sends[-1].buttons
