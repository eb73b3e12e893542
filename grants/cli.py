"""The `grants` command: one sub-command per operational task (a scheduler can call each)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from grants.settings import Settings, load_settings


def _run(
    coroutine_factory: Callable[[Settings], Coroutine[Any, Any, int]],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return asyncio.run(coroutine_factory(load_settings()))

    return run


async def _migrate(settings: Settings) -> int:
    from grants import db

    await db.migrate(settings)
    print("Database is up to date.")
    return 0


async def _demo(settings: Settings) -> int:
    from grants import db, demo

    await db.migrate(settings)
    await db.open_database(settings)
    try:
        summary = await demo.load_demo(settings)
    finally:
        await db.close_database()
    if summary is None:
        print("Demo data already present; nothing changed.")
    else:
        print(demo.format_logins(summary))
    return 0


async def _outbox_send(settings: Settings) -> int:
    from grants import db, mail

    await db.open_database(settings)
    try:
        run = await mail.send_all_due(settings)
    finally:
        await db.close_database()
    report = f"Sent {run.sent} message(s)"
    if run.retrying:
        report += f"; {run.retrying} failed and will be retried"
    if run.given_up:
        report += f"; {run.given_up} failed for good after {mail.MAX_ATTEMPTS} attempts"
    print(report + ".")
    return 0  # the queue was processed; a mail that failed is marked in the outbox


def _backup(args: argparse.Namespace) -> int:
    from grants import backup

    settings = load_settings()
    output = backup.output_path(settings, Path(args.output) if args.output else None)
    try:
        manifest = asyncio.run(backup.create_backup(settings, output))
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Backed up {backup.summary(manifest)} to {output}")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from grants import backup

    settings = load_settings()
    archive = Path(args.path)

    async def run() -> None:
        manifest = backup.read_manifest(archive)
        target = await backup.inspect_target(settings)
        now = f"{target.tables} tables now" if target.tables else "empty"
        print(f"Backup: {archive}, {backup.summary(manifest)}.")
        print(f"Target: {target.database} ({now}); uploads into {target.upload_dir}.")
        await backup.restore(settings, archive, force=args.force)  # refuses before any change

    try:
        asyncio.run(run())
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        "Restored: the database now holds the backup's data, and its uploads are in place (files "
        "that were there stay). Run `grants migrate` (this code may be newer), then start the app."
    )
    return 0


def _createadmin(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("Password (10+ characters): ")
    if len(password) < 10:
        print("error: the password needs at least 10 characters", file=sys.stderr)
        return 1

    async def create(settings: Settings) -> int:
        from grants import db
        from grants.services.accounts import create_user

        await db.migrate(settings)
        await db.open_database(settings)
        try:
            from grants.models import User

            if await User.exists(email=args.email.lower()):
                print(f"error: an account for {args.email} exists already", file=sys.stderr)
                return 1
            await create_user(
                email=args.email, display_name=args.name, password=password, is_admin=True
            )
        finally:
            await db.close_database()
        print(f"Administrator {args.email} created.")
        return 0

    return asyncio.run(create(load_settings()))


def _purge(args: argparse.Namespace) -> int:
    from grants.purge import RetentionPolicy

    policy = RetentionPolicy(
        draft_days=args.draft_days,
        token_days=args.token_days,
        mail_body_days=args.mail_body_days,
        login_attempt_days=args.login_attempt_days,
        session_days=args.session_days,
        audit_ip_days=args.audit_ip_days,
        orphan_hours=args.orphan_hours,
    )

    async def purge(settings: Settings) -> int:
        from grants import db
        from grants.purge import purge, report

        await db.open_database(settings)
        try:
            counts = await purge(settings, policy=policy, dry_run=args.dry_run)
        finally:
            await db.close_database()
        print(report(counts, dry_run=args.dry_run))
        return 0

    return asyncio.run(purge(load_settings()))


def _add_purge(commands: Any) -> None:
    from grants.purge import RetentionPolicy

    default = RetentionPolicy()
    purge = commands.add_parser(
        "purge", help="apply the retention policy (docs/privacy.md); --dry-run only counts"
    )
    purge.add_argument("--dry-run", action="store_true", help="count, remove nothing")
    for name, unit, what in (
        ("draft_days", "DAYS", "unsubmitted drafts, after their call closed"),
        ("token_days", "DAYS", "used or expired single-use links"),
        ("mail_body_days", "DAYS", "bodies of sent mail"),
        ("login_attempt_days", "DAYS", "failed log-ins"),
        ("session_days", "DAYS", "ended sessions"),
        ("audit_ip_days", "DAYS", "IP addresses in audit events"),
        ("orphan_hours", "HOURS", "uploaded files with no record, and unfinished uploads"),
    ):
        value = getattr(default, name)
        purge.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=value,
            metavar=unit,
            help=f"keep {what} this long (default {value})",
        )
    purge.set_defaults(func=_purge)


def _serve(args: argparse.Namespace) -> int:
    from grants.serve import ServeOptions, serve

    return serve(
        ServeOptions(
            host=args.host,
            port=args.port,
            processes=args.processes,
            log_level=args.log_level,
            timeout_keep_alive=args.timeout_keep_alive,
            backlog=args.backlog,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grants", description="Prevention Prize platform")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("migrate", help="apply database migrations").set_defaults(
        func=_run(_migrate)
    )
    commands.add_parser("demo", help="migrate and load the demo edition (once)").set_defaults(
        func=_run(_demo)
    )
    serve = commands.add_parser("serve", help="serve the app with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        metavar="N",
        help="server processes on this host:port, each with its own SO_REUSEPORT socket (Linux); "
        "not uvicorn --workers, whose connections lose TCP_NODELAY (uvicorn issue 3149)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level; below info there is no access log",
    )
    serve.add_argument(
        "--timeout-keep-alive",
        type=int,
        default=5,
        metavar="SECONDS",
        help="close a kept-alive connection idle this long (uvicorn's default: 5)",
    )
    serve.add_argument("--backlog", type=int, default=2048, help="listen backlog per process")
    serve.set_defaults(func=_serve)
    admin = commands.add_parser("createadmin", help="create a site administrator")
    admin.add_argument("email")
    admin.add_argument("--name", default="Administrator")
    admin.add_argument("--password", help="read from a prompt when omitted")
    admin.set_defaults(func=_createadmin)
    outbox = commands.add_parser("outbox", help="mail outbox")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    outbox_commands.add_parser("send", help="send the due mail, each once").set_defaults(
        func=_run(_outbox_send)
    )

    _add_purge(commands)

    backup = commands.add_parser(
        "backup", help="archive the database and the uploads (safe while the app runs)"
    )
    backup.add_argument(
        "--output",
        metavar="PATH",
        help="the archive (.tar.gz) or a directory for it; default: "
        "DATA_DIR/backups/grants-<UTC time>.tar.gz",
    )
    backup.set_defaults(func=_backup)
    restore = commands.add_parser(
        "restore", help="put a backup's database and uploads in place (stop the app first)"
    )
    restore.add_argument("path", help="an archive made by grants backup")
    restore.add_argument(
        "--force", action="store_true", help="replace a database that holds tables already"
    )
    restore.set_defaults(func=_restore)

    from scoring import cli as scoring_cli

    scoring_cli.register(commands)

    from grants.solver import cli as solver_cli

    solver_cli.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
