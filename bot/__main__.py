"""Command line: run, migrate, roster, backup, export. Parses arguments and calls in."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.config import ConfigError, Policy, Settings, load_policy, load_settings
from bot.logs import setup_logging

EXIT_USAGE = 2
TOKEN_HELP = (
    "BOT_TOKEN is not set. Create a bot with @BotFather in Telegram (send /newbot), "
    "then put the token it gives you in the environment (export BOT_TOKEN=123456:ABC...) "
    "or in a .env file in this folder (BOT_TOKEN=123456:ABC...)."
)


class CliError(Exception):
    """An error reported as one line, exiting with `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


async def _open_db(settings: Settings) -> Any:
    from bot.storage.db import Database
    from bot.storage.migrations import migrate

    db = await Database(settings.database_path).open()
    try:
        await migrate(db)
    except Exception:
        await db.close()
        raise
    return db


DEMO_BANNER = """\
================================================================================
 No BOT_TOKEN found (neither in the environment nor in .env), so this is the DEMO:
 a local simulator with a sample township (Hekou), the real bot and a Bot API
 emulator, all on this machine. Nothing is sent to Telegram. Open the page below.

 To run for real: create a bot with @BotFather (send /newbot), put its token in
 .env as BOT_TOKEN=123456:ABC..., import your roster
 (liaison-bot roster import FILE), then `make run` again.
================================================================================"""


def _has_token(settings: Settings) -> bool:
    return settings.bot_token is not None and bool(settings.bot_token.get_secret_value().strip())


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot with long polling until SIGTERM/SIGINT."""
    settings = load_settings()
    if not _has_token(settings):
        if args.or_demo:
            print(DEMO_BANNER, flush=True)
            return cmd_demo(args)
        raise CliError(TOKEN_HELP, EXIT_USAGE)
    policy = load_policy(settings.policy_file)
    setup_logging(settings.log_level)

    from bot.clock import clock_from_env

    try:
        # Test hook: end-to-end tests start the real process at a chosen instant.
        clock = clock_from_env(os.environ.get("LIAISON_FAKE_NOW"))
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    return _serve(settings, policy, clock)


def _serve(
    settings: Settings,
    policy: Policy,
    clock: Clock,
    on_built: Callable[[Any, asyncio.AbstractEventLoop], None] | None = None,
) -> int:
    """Build the application and poll until a signal; shared by `run` and `demo`."""
    from telegram import Update

    from bot.app import build_application
    from bot.deps import Deps
    from bot.i18n import I18n

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    db = loop.run_until_complete(_open_db(settings))
    deps = Deps(settings, policy, db, clock, I18n(settings.tz))
    app = build_application(deps)
    if on_built is not None:
        on_built(deps, loop)
    logging.getLogger("bot").info(
        "starting: database %s, API %s", settings.database_path, settings.bot_api_url
    )
    try:
        # Telegram (or the network) may be down when we start: wait for it instead of dying.
        loop.run_until_complete(_wait_for_api(app))
        # run_polling installs SIGTERM/SIGINT handlers: the update in hand finishes,
        # persistence is flushed, then it returns and we exit 0.
        app.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False, bootstrap_retries=-1)
    finally:
        loop.run_until_complete(db.close())
        loop.close()
    logging.getLogger("bot").info("stopped cleanly")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the local simulator: emulator, sample township, the real bot, the chat page."""
    from pydantic import SecretStr

    from bot.demo import DEMO_TOKEN, Demo, open_browser

    settings = load_settings()
    setup_logging(settings.log_level)
    database = Path(args.db)
    if settings.database_path.resolve() == database.resolve():
        raise CliError(f"the demo would overwrite the bot's database {database}; use --db")
    demo = Demo(database, args.port, settings.tz)
    try:
        demo.start()
    except OSError as exc:
        demo.stop()
        raise CliError(f"cannot start the demo page on port {args.port}: {exc.strerror}") from None
    # The same bot as `run`, pointed at the emulator, on the demo's own database.
    demo_settings = settings.model_copy(
        update={
            "bot_token": SecretStr(DEMO_TOKEN),
            "bot_api_url": demo.api_url,
            "database_path": database,
            "policy_file": None,
        }
    )
    print(f"Demo page: {demo.page_url}  (Ctrl+C stops the demo)", flush=True)
    if args.browser:
        open_browser(demo.page_url)
    try:
        return _serve(demo_settings, load_policy(None), demo.clock, demo.world.attach)
    finally:
        demo.stop()


async def _wait_for_api(app: Any, first: float = 1.0, longest: float = 60.0) -> None:
    """Reach the Bot API (getMe), retrying network errors with a growing pause."""
    from telegram.error import InvalidToken, NetworkError

    log = logging.getLogger("bot")
    pause = first
    while True:
        try:
            await app.bot.initialize()
            return
        except InvalidToken:
            raise CliError(
                "BOT_TOKEN was rejected by the Bot API (check it with @BotFather)", 2
            ) from None
        except NetworkError as exc:
            log.warning("Bot API not reachable (%s); retrying in %.0f s", exc, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations and exit."""
    settings = load_settings()

    async def go() -> list[Any]:
        from bot.storage.db import Database
        from bot.storage.migrations import migrate

        async with Database(settings.database_path) as db:
            return await migrate(db)

    applied = asyncio.run(go())
    for mig in applied:
        print(f"applied {mig.version:04d}_{mig.name}")
    if not applied:
        print("database is up to date")
    return 0


def cmd_roster_import(args: argparse.Namespace) -> int:
    """Import people and places from CSV or XLSX, all or nothing."""
    from bot.clock import SystemClock
    from bot.domain.roster import RosterFileError, parse_roster
    from bot.storage.roster import RosterImportError, import_roster

    settings = load_settings()
    path = Path(args.file)
    try:
        parsed = parse_roster(path)
    except RosterFileError as exc:
        raise CliError(f"{path}: {exc}") from None

    async def go() -> Any:
        db = await _open_db(settings)
        try:
            return await import_roster(db, parsed, SystemClock()), await _bot_username(db)
        finally:
            await db.close()

    try:
        result, username = asyncio.run(go())
    except RosterImportError as exc:
        for err in exc.errors:
            print(f"{path}:{err.line}: {err.reason}", file=sys.stderr)
        raise CliError(f"{path}: {len(exc.errors)} bad row(s); nothing was imported") from None
    people = [_with_link(asdict(p), username) for p in result.people]
    if args.json:
        print(json.dumps(people, ensure_ascii=False, indent=2))
    else:
        print(
            f"imported {path}: {result.created} new, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
        for p in people:
            if p["invite_code"]:
                place = " ".join(x for x in (p["township"], p["village"]) if x)
                print(f"  {p['name']} ({p['role']}, {place}): {_invite_text(p)}")
    return 0


async def _bot_username(db: Any) -> str | None:
    """Return the bot's username as recorded by `run` at start-up (None before the first run)."""
    from bot.storage.facts import BOT_USERNAME, fact

    return await fact(db, BOT_USERNAME)


def _with_link(person: dict[str, Any], username: str | None) -> dict[str, Any]:
    """Add the ready t.me link of a person's invite code, once the bot's username is known."""
    code = person.get("invite_code")
    if code and username:
        person["invite_link"] = f"https://t.me/{username}?start={code}"
    return person


def _invite_text(person: dict[str, Any]) -> str:
    """Return "invite link https://t.me/…" or, before the bot ever ran, "invite code CODE"."""
    if person.get("invite_link"):
        return f"invite link {person['invite_link']}"
    return f"invite code {person['invite_code']}"


def cmd_roster_invite(args: argparse.Namespace) -> int:
    """Issue a fresh single-use invite code for one person."""
    from bot.clock import SystemClock
    from bot.storage.roster import new_invite

    settings = load_settings()

    async def go() -> Any:
        db = await _open_db(settings)
        try:
            return await new_invite(db, args.who, SystemClock()), await _bot_username(db)
        finally:
            await db.close()

    try:
        person, username = asyncio.run(go())
    except LookupError as exc:
        raise CliError(str(exc).strip("'\"")) from None
    row = _with_link(asdict(person), username)
    if args.json:
        print(json.dumps([row], ensure_ascii=False, indent=2))
    else:
        print(f"{person.name} ({person.role}): {_invite_text(row)} (valid 14 days)")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the database consistently while the bot may be running."""
    from bot.storage.db import Database

    settings = load_settings()
    dest = Path(args.dest)
    if dest.is_dir():
        dest = dest / settings.database_path.name
    if not settings.database_path.exists():
        raise CliError(f"database {settings.database_path} does not exist")
    if dest.resolve() == settings.database_path.resolve():
        raise CliError("backup destination is the database itself")

    async def go() -> None:
        async with Database(settings.database_path) as db:
            await db.backup_to(dest)

    asyncio.run(go())
    print(f"backed up {settings.database_path} to {dest}")
    return 0


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the demo (environment defaults let `make run` pass them through)."""
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DEMO_PORT") or 8080),
        help="port of the demo page on 127.0.0.1 (default 8080, $DEMO_PORT; 0 picks a free one)",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("DEMO_DATABASE_PATH") or "data/demo.sqlite3",
        help="the demo's own database, recreated at each start (default data/demo.sqlite3)",
    )
    parser.add_argument(
        "--no-browser",
        dest="browser",
        action="store_false",
        default=os.environ.get("DEMO_OPEN_BROWSER", "1") != "0",
        help="do not open the page in a browser",
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Write one scope and period as .xlsx, or as a .zip of one CSV per sheet."""
    from datetime import date, timedelta

    from bot.clock import clock_from_env
    from bot.domain.periods import Span
    from bot.export import collect, render
    from bot.i18n import I18n
    from bot.storage import office as store

    settings = load_settings()
    policy = load_policy(settings.policy_file)
    try:
        first, last = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError as exc:
        raise CliError(f"dates must look like 2026-10-01: {exc}", EXIT_USAGE) from None
    if last < first:
        raise CliError("--to is before --from", EXIT_USAGE)
    span = Span("range", first, last + timedelta(days=1))
    if not settings.database_path.exists():
        raise CliError(f"database {settings.database_path} does not exist")
    t = I18n(settings.tz).get(args.lang)
    clock = clock_from_env(os.environ.get("LIAISON_FAKE_NOW"))
    out = Path(args.out)

    async def go() -> tuple[bytes, int]:
        db = await _open_db(settings)
        try:
            township_id = None
            if args.township:
                township_id = await store.township_by_name(db, args.township)
                if township_id is None:
                    raise CliError(f"no township named {args.township!r}")
            now = clock.now()
            data = await collect(
                db, policy, settings.tz, span, now, township_id, args.township or ""
            )
            content = render(data, t, args.format)
            async with db.transaction() as tx:
                record = store.ExportRecord(None, "cli", township_id, span, args.format, data.rows)
                await store.record_export(tx, now, record)
            return content, data.rows
        finally:
            await db.close()

    content, rows = asyncio.run(go())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(f"exported {rows} rows to {out}")
    return 0


def cmd_register_import(args: argparse.Namespace) -> int:
    """Import register entries from XLSX (one sheet per category) or CSV, all or nothing."""
    from bot.clock import clock_from_env
    from bot.domain.roster import RosterFileError
    from bot.i18n import I18n
    from bot.register_io import import_file, parse_file
    from bot.storage.register import RegisterImportError

    settings = load_settings()
    policy = load_policy(settings.policy_file)
    path = Path(args.file)
    try:
        parsed = parse_file(path, policy, I18n(settings.tz).all())
    except RosterFileError as exc:
        raise CliError(f"{path}: {exc}") from None
    if not parsed.ok:
        for err in parsed.errors:
            print(f"{path}:{err.line}: {err.reason}", file=sys.stderr)
        raise CliError(f"{path}: {len(parsed.errors)} bad row(s); nothing was imported")
    clock = clock_from_env(os.environ.get("LIAISON_FAKE_NOW"))

    async def go() -> Any:
        db = await _open_db(settings)
        try:
            return await import_file(db, parsed, clock.now())
        finally:
            await db.close()

    try:
        counts = asyncio.run(go())
    except RegisterImportError as exc:
        for err in exc.errors:
            print(f"{path}:{err.line}: {err.reason}", file=sys.stderr)
        raise CliError(f"{path}: {len(exc.errors)} bad row(s); nothing was imported") from None
    print(
        f"imported {path}: {counts.added} new, {counts.updated} updated, "
        f"{counts.closed} closed, {counts.unchanged} unchanged"
    )
    return 0


def cmd_register_export(args: argparse.Namespace) -> int:
    """Write the register (open and closed entries) to an .xlsx file, one sheet per category."""
    from bot.clock import clock_from_env
    from bot.i18n import I18n
    from bot.register_io import export_file
    from bot.storage import office
    from bot.storage.register import audit

    settings = load_settings()
    policy = load_policy(settings.policy_file)
    if not settings.database_path.exists():
        raise CliError(f"database {settings.database_path} does not exist")
    t = I18n(settings.tz).get(args.lang)
    out = Path(args.out)
    clock = clock_from_env(os.environ.get("LIAISON_FAKE_NOW"))

    async def go() -> int:
        db = await _open_db(settings)
        try:
            township_id = None
            if args.township:
                township_id = await office.township_by_name(db, args.township)
                if township_id is None:
                    raise CliError(f"no township named {args.township!r}")
            count = await export_file(db, out, policy, t, township_id)
            await audit(
                db,
                person_id=None,
                action="export",
                query=args.township,
                results=count,
                now=clock.now(),
            )
            return count
        finally:
            await db.close()

    count = asyncio.run(go())
    print(f"exported {count} register entries to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="liaison-bot",
        description="Township liaison bot. Configuration comes from environment variables "
        "and .env (BOT_TOKEN, BOT_API_URL, DATABASE_PATH, TIMEZONE, POLICY_FILE, LOG_LEVEL).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the bot (long polling); applies migrations first")
    p.add_argument(
        "--or-demo",
        action="store_true",
        help="without a BOT_TOKEN, run the demo instead of stopping (what `make run` does)",
    )
    _demo_arguments(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "demo",
        help="local simulator: Bot API emulator, sample township, the real bot, a chat page",
    )
    _demo_arguments(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("migrate", help="apply database migrations and exit")
    p.set_defaults(func=cmd_migrate)

    roster = sub.add_parser("roster", help="manage people and places")
    rsub = roster.add_subparsers(dest="roster_command", required=True, metavar="ACTION")
    p = rsub.add_parser("import", help="import a roster CSV or XLSX (all or nothing)")
    p.add_argument("file", metavar="FILE", help="CSV (UTF-8) or XLSX file with a header row")
    p.add_argument("--json", action="store_true", help="print the people and invite codes as JSON")
    p.set_defaults(func=cmd_roster_import)
    p = rsub.add_parser("invite", help="issue a new invite code for one person")
    p.add_argument("who", metavar="NAME|PHONE", help="the person's name or phone number")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_roster_invite)

    p = sub.add_parser(
        "export",
        help="write reports, alerts, submissions and a summary of a period to a workbook",
        description="Write the period's patrol reports (one row per village and week), dispute "
        "alerts, information submissions and a summary. xlsx: one workbook with five sheets "
        "(the last is the register); "
        "csv: a .zip holding one UTF-8 CSV file per sheet. Every export is recorded in the "
        "audit table.",
    )
    p.add_argument("--from", dest="date_from", required=True, metavar="DATE", help="first day")
    p.add_argument("--to", dest="date_to", required=True, metavar="DATE", help="last day")
    p.add_argument("--township", metavar="NAME", help="one township (default: all)")
    p.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="default xlsx")
    p.add_argument(
        "--lang",
        choices=("zh_Hans", "zh_Hant", "en"),
        default="zh_Hans",
        help="language of headers and words (default zh_Hans)",
    )
    p.add_argument("out", metavar="OUT", help="file to write (.xlsx, or .zip for csv)")
    p.set_defaults(func=cmd_export)

    register = sub.add_parser("register", help="the register of united-front subjects")
    gsub = register.add_subparsers(dest="register_command", required=True, metavar="ACTION")
    p = gsub.add_parser(
        "import",
        help="import register entries (all or nothing)",
        description="XLSX with one sheet per category (the sheet is named by the category's "
        "name in any of the three languages, or its code) or CSV with a category column; "
        "headers: township, village and the category's fields, in Chinese or as codes. "
        "Re-importing the same file changes nothing; entries are closed, never deleted.",
    )
    p.add_argument("file", metavar="FILE", help="XLSX or CSV (UTF-8) file")
    p.set_defaults(func=cmd_register_import)
    p = gsub.add_parser("export", help="write the register to an .xlsx file (import reads it)")
    p.add_argument("--township", metavar="NAME", help="one township (default: all)")
    p.add_argument(
        "--lang",
        choices=("zh_Hans", "zh_Hant", "en"),
        default="zh_Hans",
        help="language of sheet names and headers (default zh_Hans)",
    )
    p.add_argument("out", metavar="OUT", help="the .xlsx file to write")
    p.set_defaults(func=cmd_register_export)

    p = sub.add_parser("backup", help="consistent online copy of the database")
    p.add_argument("dest", metavar="DEST", help="destination file (or folder)")
    p.set_defaults(func=cmd_backup)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; every error is one line on stderr and a non-zero exit."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CliError as exc:
        print(f"liaison-bot: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        print(f"liaison-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: one line, no traceback
        print(f"liaison-bot: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
