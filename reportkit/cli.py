"""The `reportkit` command: a FlaskGroup, so `reportkit run` and `reportkit db upgrade` work as usual."""

import shutil
import sys
from datetime import UTC
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from sqlalchemy import func, select

from . import create_app, mail
from .auth import twofactor
from .auth.accounts import Client, create_reset_link, find_user, reset_valid_for
from .auth.passwords import password_problem
from .extensions import db
from .models import MODES, ROLES, ApiToken, Case, User
from .services import anchors
from .services.backup import BackupError, backup, restore
from .services.cases import CaseError, add_member
from .services.custody import anchor_head, cases_to_verify, run_verification
from .services.demo import load_demo, reset_demo
from .services.dossier.data import select_entries
from .services.dossier.job import DossierRefused, build_dossier, create_dossier
from .services.dossier.options import PAPERS, DossierOptions, OptionsError, read_options
from .services.evidence import DEFAULT_GRACE_HOURS, Limits, collect_garbage
from .services.intake import TableError, create_import, guess_mapping, import_rows, read_table
from .services.package import chain_summary as package_chain_summary
from .services.package import originals_exposure, package_stamps, verify_package, write_package
from .services.policies import PolicyError, add_server_rules, seed_policies
from .services.storage import StoredFileError, app_store, temp_root
from .services.timestamps import TimestampError, load_root, urls_from


@click.command("create-user")
@click.argument("email")
@click.option("--admin", is_flag=True, help="May add custom policies and clauses.")
@click.option("--name", default="", help="Shown to other members.")
def create_user(email: str, admin: bool, name: str) -> None:
    """Create a user; the password is read from a prompt, or from standard input when piped."""
    email = email.strip().lower()
    if db.session.scalar(select(User).where(func.lower(User.email) == email)):
        raise click.ClickException(f"A user with the email {email} already exists.")
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    problem = password_problem(password, email)  # the same rules as the pages
    if problem:
        raise click.ClickException(problem)
    user = User(email=email, name=name, is_admin=admin)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {'admin ' if admin else ''}user {email}.")


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="cli", help="What the token is for.")
def create_token(email: str, name: str) -> None:
    """Create an API token for a user and print it once."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with the email {email}.")
    token, secret = ApiToken.issue(user, name)
    db.session.add(token)
    db.session.commit()
    click.echo(secret)


@click.command("add-member")
@click.argument("case_id", type=int)
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
def add_member_command(case_id: int, email: str, role: str) -> None:
    """Add a registered user to a case directly, without an invitation (an admin's way; pages invite)."""
    try:
        add_member(None, case_or_fail(case_id), email, role)  # None: the command line
    except CaseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Added {email.strip().lower()} to case {case_id} as {role}.")


@click.command("reset-password")
@click.argument("email")
@click.option("--send", is_flag=True,
              help="Mail the link to the user (when MAIL_SERVER is set) instead of printing it.")
def reset_password_command(email: str, send: bool) -> None:
    """Print a one-time password reset link for a user (works once, for RESET_LINK_MINUTES); give it to them
    by a channel you trust. Using it ends every session of the account. With --send and mail configured, mail it."""
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No user with the email {email}.")
    if send and mail.configured():
        try:
            mail.send_reset_link(user, Client("command line"))
        except mail.MailError as exc:
            raise click.ClickException(f"The mail could not be sent ({exc}); run this again without --send to "
                                       "print a link instead.") from exc
        click.echo(f"Mailed a reset link to {user.email}; it works once, within "
                   f"{current_app.config['RESET_LINK_MINUTES']} minutes.")
        return
    if send:
        click.echo("Mail is not configured (MAIL_SERVER): give the user this link yourself.")
    secret = create_reset_link(user, reset_valid_for(current_app.config), Client("command line"))
    path = f"/auth/reset/{secret}"
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    click.echo(f"{base}{path}" if base
               else f"{path}  (prefix it with this site's address; set PUBLIC_URL to print it whole)")
    click.echo(f"It works once, within {current_app.config['RESET_LINK_MINUTES']} minutes.")


@click.command("disable-two-factor")
@click.argument("email")
def disable_two_factor_command(email: str) -> None:
    """Turn off a user's two-factor sign-in, for someone who lost both the phone and the recovery codes. Make
    sure first, by a channel you trust, that it is them asking: this leaves the password alone guarding the account."""
    user = find_user(email)
    if user is None or not twofactor.is_enabled(user):
        raise click.ClickException(f"No user with the email {email} has two-factor sign-in on.")
    twofactor.disable(user, Client("command line"))
    click.echo(f"Two-factor sign-in is off for {user.email} (their security log says so); they can turn it on again "
               "in Settings.")


@click.command("seed-policies")
def seed_policies_command() -> None:
    """Load the shipped policy catalogue (safe to run again: it updates by key)."""
    counts = seed_policies()
    click.echo("Policy catalogue: {platforms} platforms, {policies} policies, {clauses} clauses.".format(**counts))


@click.command("add-server-rules")
@click.argument("host")
@click.option("--url", default="", help="The rules page, https://HOST/... (default https://HOST/about).")
@click.option("--checked-on", default=None, help="The day the rules were read, YYYY-MM-DD (default today, UTC).")
@click.option("--rule", "rules", multiple=True, required=True, help='"Heading: summary"; repeat for each rule.')
def add_server_rules_command(host: str, url: str, checked_on: str | None, rules: tuple[str, ...]) -> None:
    """Add a Mastodon server's rules to the policy catalogue (logged as done from the command line)."""
    from datetime import datetime
    try:
        policy = add_server_rules(None, host, url, checked_on or datetime.now(UTC).date().isoformat(),
                                  list(rules))
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Added {len(policy.clauses)} rule(s) of {policy.server_host}: {policy.key}/1 ... "
               f"{policy.key}/{len(policy.clauses)}")


def dossier_options(command):
    """The export options, shared by export-dossier and export-package (a package can hold a selection)."""
    options = [
        click.option("--mode", type=click.Choice(list(MODES)), default="rules", show_default=True),
        click.option("--paper", type=click.Choice(list(PAPERS)), default="A4", show_default=True),
        click.option("--no-translations", is_flag=True, help="Leave the translations out."),
        click.option("--account", "account_id", type=int, help="Only entries of this account id."),
        click.option("--clause", default="", help="Only entries mapped to this clause key."),
        click.option("--tag", default="", help="Only entries with this tag."),
        click.option("--approved-only", is_flag=True, help="Only approved entries (the default; kept for scripts)."),
        click.option("--include-unapproved", is_flag=True,
                     help="Also entries not yet approved (each marked); rejected and duplicate ones never."),
        click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Posted on or after (UTC)."),
        click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Posted on or before (UTC)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


# The command's names for the inputs of services/dossier/options.read_options (the others: --<name>).
OPTION_NAMES = {"account_id": "--account", "date_from": "--from", "date_to": "--to",
                "approved_only": "--include-unapproved", "include_translations": "--no-translations"}


def options_from(case, mode, paper, no_translations, account_id, clause, tag, approved_only, date_from,
                 date_to, include_unapproved=False, include_originals=False, with_package=False) -> DossierOptions:
    """The command's options through the one check of dossier options, which the page and the API use too."""
    if approved_only and include_unapproved:
        raise click.UsageError("--approved-only and --include-unapproved contradict each other.")
    try:
        return read_options(case, {
            "mode": mode, "paper": paper, "include_translations": not no_translations, "account_id": account_id,
            "clause": clause, "tag": tag, "approved_only": not include_unapproved, "date_from": date_from,
            "date_to": date_to, "include_originals": include_originals, "with_package": with_package})
    except OptionsError as exc:
        names = {k: OPTION_NAMES.get(k, "--" + k.replace("_", "-")) for k in exc.fields}
        raise click.UsageError(str(exc.renamed(names))) from None


def case_or_fail(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise click.ClickException(f"No case with id {case_id}.")
    return case


@click.command("export-dossier")
@click.argument("case_id", type=int)
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, writable=True))
@dossier_options
def export_dossier(case_id, output, **selection):
    """Render a case's dossier to a PDF file, with a progress bar; it is kept in the export history too."""
    case = case_or_fail(case_id)
    options = options_from(case, **selection)
    try:
        dossier = create_dossier(None, case, options)
    except DossierRefused as exc:
        raise click.ClickException("\n  - ".join(["The dossier cannot be exported yet:", *exc.problems])) from None
    with click.progressbar(length=100, label="Rendering", show_percent=True) as bar:
        def on_progress(stage: str, percent: int) -> None:
            bar.label = f"{stage:<40.40}"
            bar.update(percent - bar.pos)
        build_dossier(dossier, app_store(), current_app.config["DOSSIER_WORKERS"],
                      current_app.config["DOSSIER_TIMEOUT"], on_progress)
    try:  # the stored PDF, checked against its hash as every download is
        with app_store().open_verified(dossier.sha256) as src, \
                open(output, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except StoredFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{output}: {dossier.pages} pages, {dossier.size} bytes, SHA-256 {dossier.sha256}")


@click.command("demo")
@click.option("--reset", is_flag=True, help="Remove the demo case and the demo users, and nothing else.")
@click.option("--owner", "owner_email", help="Also make this existing user an owner of the demo case.")
def demo(reset: bool, owner_email: str | None) -> None:
    """Load a fictional demo case (about 25 posts, two demo users); running it again changes nothing."""
    if reset:
        click.echo(f"Removed {reset_demo()} demo case(s) and the demo users.")
        return
    owner = None
    if owner_email:
        owner = db.session.scalar(select(User).where(func.lower(User.email) == owner_email.strip().lower()))
        if owner is None:
            raise click.ClickException(f"No user with the email {owner_email}.")
    seed_policies()
    result = load_demo(app_store(), Limits.from_config(current_app.config), owner)
    case = result["case"]
    if not result["created"]:
        click.echo(f"The demo case is already loaded (case {case.id}). Use --reset to remove it.")
        return
    click.echo(f"Loaded the demo case {case.id}: {case.entry_seq} fictional posts.")
    for email, password in result["passwords"].items():
        click.echo(f"  {email}  password: {password}   (shown once)")


@click.command("import")
@click.argument("case_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--map", "maps", multiple=True, metavar="FIELD=COLUMN",
              help="Map a column (repeat); guessed if left out.")
@click.option("--timezone", default="UTC", show_default=True, help="For times written without a zone.")
@click.option("--calendar", type=click.Choice(["auto", "gregorian", "solar_hijri"]), default="auto",
              show_default=True, help="The calendar of the file's dates; auto reads years 1300-1499 as Solar Hijri.")
@click.option("--as", "as_email", help="The user recorded as the entries' author (default: the case's first owner).")
@click.option("--allow-other", is_flag=True, help="Add addresses that are not posts of a known platform (news "
                                                  "articles, web pages) as platform 'other' instead of reporting them.")
def import_command(case_id, file, maps, timezone, calendar, as_email, allow_other):
    """Import a CSV or JSON file into a case, with a progress bar and a summary of every row's result."""
    case = case_or_fail(case_id)
    actor = (db.session.scalar(select(User).where(func.lower(User.email) == as_email.lower())) if as_email else
             next((m.user for m in case.memberships if m.role == "owner"), None))
    if actor is None:
        raise click.ClickException("Name the author with --as EMAIL.")
    data = Path(file).read_bytes()
    try:
        headers, rows = read_table(data)
        mapping = guess_mapping(headers)
        mapping.update(item.partition("=")[::2] for item in maps)  # --map FIELD=COLUMN, checked by the service
        job = create_import(actor, case, Path(file).name, data, mapping, timezone, calendar, allow_other,
                            start=True)
    except TableError as exc:
        raise click.ClickException(str(exc)) from None
    from .services.jobs import holding
    with click.progressbar(length=len(rows), label="Importing") as bar, \
            holding(current_app._get_current_object(), "import", job.id):
        import_rows(actor, case, job, headers, rows, lambda done: bar.update(done - bar.pos))
        bar.update(len(rows) - bar.pos)
    click.echo(f"{job.created} created, {job.duplicates} duplicates, {job.failed} not imported "
               f"(import {job.id}; the per-row report is on its page).")
    for r in [r for r in job.results if r["status"] not in ("created", "duplicate")][:20]:
        click.echo(f"  row {r['line']}: {r['reason']}")


@click.command("verify")
@click.argument("case_id", type=int, required=False)
@click.option("--anchor", "anchor_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A dossier PDF or evidence package made earlier: the chain must still hold the head it "
                   "recorded (repeat).")
def verify(case_id: int | None, anchor_files: tuple[str, ...]) -> None:
    """Check the event chain against every recorded head, replay the history against the rows and re-hash
    every stored file, of one case or all; exit 1 on any problem."""
    store, failed = app_store(), False
    try:
        extra = [a for f in anchor_files for a in anchors.from_file(Path(f))]
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for cid in cases_to_verify(case_id):
        report = run_verification(None, cid, store, Path(current_app.config["ANCHOR_LOG"]), extra)
        click.echo(f"case {cid}: {report.events_checked} events, {report.files_checked} files: "
                   + ("OK" if report.ok else f"{len(report.problems)} problem(s)"))
        for problem in report.problems:
            click.echo(f"  - {problem}")
        failed = failed or not report.ok
    if failed:
        raise SystemExit(1)


@click.command("export-package")
@click.argument("case_id", type=int)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--include-originals", is_flag=True,
              help="Add the unredacted originals, with their location and device metadata (recorded).")
@dossier_options
def export_package(case_id: int, output: str, include_originals: bool, **selection) -> None:
    """Write a ZIP with the selected entries, the copies the dossier prints (redactions applied, no metadata),
    the originals' hashes, the custody log (events outside the selection withheld, their hashes kept), a
    manifest and the dossier, checkable offline. The options choose the entries, as for export-dossier."""
    case = case_or_fail(case_id)
    config = current_app.config
    options = options_from(case, **selection, include_originals=include_originals, with_package=True)
    if include_originals:
        click.echo("Warning: " + originals_exposure(select_entries(case, options), app_store()).warning(),
                   err=True)
    try:
        result = write_package(None, case, Path(output), app_store(), config["DOSSIER_WORKERS"],
                               urls_from(config["TIMESTAMP_URLS"]), config["TIMESTAMP_TIMEOUT"], options)
    except (DossierRefused, TimestampError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{output}: {result['files']} files, manifest SHA-256 {result['manifest_sha256']}")
    for stamp in result["timestamps"]:
        click.echo(f"  timestamped by {stamp.authority} at {stamp.time:%Y-%m-%d %H:%M:%S} UTC ({stamp.url})")


@click.command("verify-package")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--tsa-root", "tsa_roots", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Root certificate (PEM or DER) of a timestamp authority to trust; may be repeated.")
def verify_package_command(file: str, tsa_roots: tuple[str, ...]) -> None:
    """Check an evidence package without the server; exit 1 on any problem."""
    roots = [Path(root).read_bytes() for root in tsa_roots]
    for path, root in zip(tsa_roots, roots, strict=True):
        try:
            load_root(root)
        except TimestampError as exc:
            raise click.ClickException(f"--tsa-root {path}: {exc}") from exc
    problems = verify_package(Path(file), roots)
    if problems:
        click.echo(f"{file}: {len(problems)} problem(s)")
        for problem in problems:
            click.echo(f"  - {problem}")
        raise SystemExit(1)
    click.echo(f"{file}: OK — every hash matches and {package_chain_summary(Path(file))}.")
    for stamp in package_stamps(Path(file)):
        trust = "its authority is trusted" if tsa_roots else "pass --tsa-root to check its authority"
        click.echo(f"  manifest timestamped by {stamp.authority} at {stamp.time:%Y-%m-%d %H:%M:%S} UTC: "
                   f"signature valid, {trust}")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False),
              help="Sign with this Ed25519 private key (PEM) instead of the instance's backup_signing_key.")
def backup_command(file: str, key_file: str | None) -> None:
    """Write a consistent snapshot of the database and the evidence store, with a signed manifest of hashes."""
    for case_id in db.session.scalars(select(Case.id)):  # heads taken before the snapshot: it holds them all
        anchor_head(Path(current_app.config["ANCHOR_LOG"]), case_id, f"backup {Path(file).name}")
    db.session.commit()
    try:
        result = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], app_store(), Path(file),
                        Path(current_app.instance_path), Path(key_file) if key_file else None)
    except (BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{file}: {result['files']} files, each with its SHA-256 in manifest.json, signed by key "
               f"{result['key']}")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing database.")
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False),
              help="Check the signature with this Ed25519 key (PEM, public or private) instead of the instance's.")
@click.option("--ignore-signature", is_flag=True,
              help="Restore a backup that is unsigned or signed by an unknown key; every hash is still checked.")
def restore_command(file: str, force: bool, key_file: str | None, ignore_signature: bool) -> None:
    """Check every member, hash and the signature of a backup, then restore it; a damaged backup restores nothing."""
    db.session.remove()  # no open connection to the database being replaced
    db.engine.dispose()
    try:
        result = restore(Path(file), current_app.config["SQLALCHEMY_DATABASE_URI"],
                         app_store(), Path(current_app.instance_path),
                         Path(key_file) if key_file else None, force, ignore_signature)
    except (BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    anchors.restored(Path(current_app.config["ANCHOR_LOG"]), Path(file).name)
    click.echo(f"Restored {result['files']} files from {file} (made {result['created_at']}); every hash checked.")
    if result["untrusted"]:
        click.secho(f"WARNING: the signature of this backup was NOT verified: {result['untrusted']}. It was restored "
                    "because of --ignore-signature; anyone who had the file could have changed it.",
                    fg="red", bold=True, err=True)


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--grace", type=click.FloatRange(min=0), default=DEFAULT_GRACE_HOURS, show_default=True,
              help="Hours: only what is older than this is removed.")
def gc_command(dry_run: bool, grace: float) -> None:
    """Remove what crashes left behind: staging files of unfinished uploads, stored files no row uses, and
    stale scratch folders in the instance's tmp folder."""
    found = collect_garbage(app_store(), temp_root(current_app), grace, dry_run)
    for item in found:
        if item.kind == "locked":  # S3 Object Lock: nobody can remove it before then
            click.echo(f"kept {item.path} ({item.size} bytes): no row uses it, but it is under Object Lock "
                       f"retention until {item.until:%Y-%m-%d %H:%M} UTC; gc removes it after that")
            continue
        click.echo(f"{'would remove' if dry_run else 'removed'} {item.kind}: {item.path} ({item.size} bytes)")
    found = [item for item in found if item.kind != "locked"]
    click.echo(f"{len(found)} item(s), {sum(item.size for item in found)} bytes "
               f"{'would be freed (dry run: nothing removed)' if dry_run else 'freed'}.")


@click.command("find-duplicates")
@click.argument("case_id", type=int, required=False)
def find_duplicates_command(case_id: int | None) -> None:
    """Look for near-duplicate screenshots among those stored before this version (they have no look hash
    yet), in one case or all; their warnings then show on the entry pages. Safe to run again."""
    from .services.duplicates import find_in_earlier_screenshots

    if case_id is not None:
        case_or_fail(case_id)
    hashed, found = find_in_earlier_screenshots(app_store(), case_id)
    click.echo(f"{hashed} screenshot(s) hashed, {found} possible duplicate(s) found.")


@click.command("worker")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Jobs run at once (threads; a dossier also uses its own render processes).")
def worker_command(workers: int) -> None:
    """Run the job queue's consumer: dossiers, packages, imports, verifications and the periodic sweeps.
    Ctrl-C (SIGINT) lets running jobs finish; SIGTERM stops now (the sweeper then reports them)."""
    from .services.queue import describe, jobs_url, start_consumer

    app = current_app._get_current_object()
    click.echo(f"reportkit worker: {workers} worker(s) on {describe(jobs_url(app))}")
    start_consumer(app, workers).run()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(min=1, max=65535), default=5000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True, help="gunicorn web workers.")
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve with gunicorn; with JOBS_IN_PROCESS (the default) also start one job consumer next to it (a child
    process: reloading or restarting web workers never touches a running job)."""
    import os
    import signal
    import subprocess

    app = current_app._get_current_object()
    env = {**os.environ, "REPORTKIT_INSTANCE_PATH": app.instance_path}
    consumer = None
    if app.config["JOBS_IN_PROCESS"]:
        consumer = subprocess.Popen([sys.executable, "-c", "from reportkit.cli import main; main()", "worker",
                                     "--workers", "1"], env=env)
    web_env = {**env, "REPORTKIT_JOBS_IN_PROCESS": "false"}  # the web workers only queue jobs
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
                            "--threads", "4", "--timeout", "120", "--graceful-timeout", "30", "--no-control-socket",
                            "--bind", f"{host}:{port}", "-c", "python:reportkit.gunicorn_conf",
                            "reportkit:create_app()"], env=web_env)

    def forward(signum, frame):
        web.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)  # SIGHUP: gunicorn reloads its workers; the consumer goes on
    try:
        code = web.wait()
    except KeyboardInterrupt:
        code = web.wait()
    finally:
        if consumer is not None:
            if consumer.poll() is None:
                consumer.send_signal(signal.SIGINT)  # running jobs finish first
            consumer.wait()
    sys.exit(code)


@click.command("doctor")
def doctor_command() -> None:
    """Print what is configured (no secrets) and whether each part can be reached."""
    from .services.health import readiness
    from .services.queue import describe, jobs_url

    app = current_app._get_current_object()
    config = app.config
    click.echo(f"instance folder:  {app.instance_path}")
    click.echo(f"database:         {describe(str(db.engine.url.render_as_string(hide_password=True)))}")
    click.echo(f"job queue:        {describe(jobs_url(app))}")
    in_process = "yes (the web process runs a consumer)" if config["JOBS_IN_PROCESS"] else "no (run reportkit worker)"
    click.echo(f"jobs in process:  {in_process}")
    click.echo(f"job heartbeat:    every {config['JOBS_HEARTBEAT']} s; a job is lost after "
               f"{config['JOBS_STALLED_AFTER']} s without one")
    store = app_store(app)
    where = f" at {config['S3_ENDPOINT_URL'] or 'AWS'}" if store.kind == "s3" else ""
    lock = f", Object Lock {config['S3_OBJECT_LOCK_DAYS']} days" if config.get("S3_OBJECT_LOCK_DAYS") else ""
    click.echo(f"evidence store:   {store.url}{where}{lock}")
    click.echo(f"secret key:       {'set' if config.get('SECRET_KEY') else 'missing'}")
    click.echo(f"mail:             {config['MAIL_SERVER'] or 'not configured'}")
    details: dict = {}
    checks = readiness(app, details)
    for name, state in checks.items():
        click.echo(f"{name + ':':17} {'reachable' if state == 'ok' else 'NOT reachable: ' + details.get(name, '')}")
    if any(state != "ok" for state in checks.values()):
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    for command in (create_user, create_token, reset_password_command, add_member_command, seed_policies_command,
                    export_dossier, demo, import_command, verify, export_package, verify_package_command,
                    backup_command, restore_command, gc_command):
        app.cli.add_command(command)
    app.cli.add_command(add_server_rules_command)
    app.cli.add_command(disable_two_factor_command)
    app.cli.add_command(find_duplicates_command)
    for command in (worker_command, serve_command, doctor_command):
        app.cli.add_command(command)


main = FlaskGroup(create_app=create_app, help="reportkit: evidence catalogue and dossiers.")
