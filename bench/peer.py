"""The yardstick: a plain python-telegram-bot 22 bot with a /report-shaped conversation.

Seven updates per conversation, the same answers the liaison bot gives (a message with
buttons, edits on every press, a summary, a confirmation), PicklePersistence, nothing else.
`make bench` runs it as a process against the same loopback fake as `liaison-bot run`, so the
ratio of CPU per update between the two is the cost of the project's own machinery.

Environment: BOT_TOKEN, BOT_API_URL (root, as for the bot), PEER_PICKLE (persistence file).
"""

from __future__ import annotations

import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

DAY, PLACES, COUNT, OUTCOME, REVIEW = range(5)
PLACES_LIST = ("宗教活动场所", "民间信仰点", "少数民族家庭", "非公企业", "归侨侨眷、台属", "其他")
PLACES_TEXT = "检查了哪些地方？可多选，选好后点“选好了”。"
CANCEL = InlineKeyboardButton("取消", callback_data="x")


def _keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([*rows, [CANCEL]])


def _places(chosen: list[str]) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(("✅ " if p in chosen else "") + p, callback_data=f"p:{i}")]
        for i, p in enumerate(PLACES_LIST)
    ]
    return _keyboard(*rows, [InlineKeyboardButton("选好了 / 完成", callback_data="done")])


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and context.user_data is not None
    context.user_data["draft"] = {"places": []}
    await update.message.reply_text(
        "第48周\n哪天", reply_markup=_keyboard([InlineKeyboardButton("今天", callback_data="d:0")])
    )
    return DAY


async def day(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and context.user_data is not None
    await query.answer()
    context.user_data["draft"]["day"] = query.data
    await query.edit_message_text(PLACES_TEXT, reply_markup=_places([]))
    return PLACES


async def toggle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    await query.answer()
    chosen: list[str] = context.user_data["draft"]["places"]
    place = PLACES_LIST[int(query.data[2:])]
    if place in chosen:
        chosen.remove(place)
    else:
        chosen.append(place)
    await query.edit_message_text(PLACES_TEXT, reply_markup=_places(chosen))
    return PLACES


async def places_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    counts = [InlineKeyboardButton(str(n), callback_data=f"n:{n}") for n in (0, 5, 10, 20)]
    await query.edit_message_text("走访了多少户（人）？", reply_markup=_keyboard(counts))
    return COUNT


async def count(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.message is not None and update.message.text is not None
    assert context.user_data is not None
    if not update.message.text.strip().isdigit():
        await update.message.reply_text("请输入数字（0–999）。")
        return COUNT
    context.user_data["draft"]["visited"] = int(update.message.text)
    outcomes = [
        InlineKeyboardButton("一切正常", callback_data="o:ok"),
        InlineKeyboardButton("发现问题", callback_data="o:issues"),
    ]
    await update.message.reply_text("巡查结果？", reply_markup=_keyboard(outcomes))
    return OUTCOME


async def outcome(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and context.user_data is not None
    await query.answer()
    draft = context.user_data["draft"]
    draft["outcome"] = query.data
    places = "、".join(draft["places"])
    text = f"📋 巡查报告 W48\n地点：{places}\n走访：{draft['visited']}\n结果：一切正常"
    buttons = [
        InlineKeyboardButton("提交", callback_data="submit"),
        InlineKeyboardButton("修改", callback_data="edit"),
    ]
    await query.edit_message_text(text, reply_markup=_keyboard(buttons))
    return REVIEW


async def submit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None and context.user_data is not None and update.effective_user
    await query.answer()
    context.user_data.setdefault("reports", []).append(context.user_data.pop("draft"))
    await query.edit_message_text(f"✅ 已提交，编号 W48-{update.effective_user.id}。谢谢！")
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text("已取消。")
    return ConversationHandler.END


def main() -> None:
    """Run the peer bot with long polling until SIGTERM."""
    root = os.environ["BOT_API_URL"].rstrip("/")
    app = (
        ApplicationBuilder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .persistence(PicklePersistence(os.environ["PEER_PICKLE"]))
        .build()
    )
    cancel_handler = CallbackQueryHandler(cancel, pattern="^x$")
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("report", start)],
            states={
                DAY: [CallbackQueryHandler(day, pattern="^d:")],
                PLACES: [
                    CallbackQueryHandler(toggle, pattern="^p:"),
                    CallbackQueryHandler(places_done, pattern="^done$"),
                ],
                COUNT: [MessageHandler(filters.TEXT & ~filters.COMMAND, count)],
                OUTCOME: [CallbackQueryHandler(outcome, pattern="^o:")],
                REVIEW: [CallbackQueryHandler(submit, pattern="^submit$")],
            },
            fallbacks=[cancel_handler],
            name="report",
            persistent=True,
        )
    )
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
