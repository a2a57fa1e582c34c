"""`reportkit recheck [CASE_ID]`: is each filed post still up? (the scheduler does this daily; this is now)."""

import click
from flask import current_app

from ..services.recheck import check_entry, filed_entries
from .views import bp


@bp.cli.command("recheck")
@click.argument("case_id", type=int, required=False)
def recheck_command(case_id: int | None) -> None:
    """Check every filed post (of one case) now, through RECHECK_PROXY if set; print each outcome."""
    entries = filed_entries(case_id)
    if not entries:
        click.echo("No filed posts to check.")
    for entry in entries:
        obs = check_entry(current_app._get_current_object(), None, entry)
        click.echo(f"case {entry.case_id} #{entry.number} {obs.outcome}"
                   f"{' (back online)' if obs.back_online else ''}: {obs.detail}")


@bp.cli.command("outcomes")
@click.argument("case_id", type=int)
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, writable=True),
              help="Also write the figures as CSV to this file.")
def outcomes_command(case_id: int, csv_file: str | None) -> None:
    """Per platform: entries filed, confirmed, acted on, no violation found, no answer, median days, still online."""
    from ..extensions import db
    from ..models import Case
    from ..services.outcomes import outcomes, outcomes_csv

    if db.session.get(Case, case_id) is None:
        raise click.ClickException(f"No case {case_id}.")
    rows = outcomes([case_id])
    if not rows:
        click.echo("Nothing filed in this case yet.")
    for r in rows:
        actions = ", ".join(f"{k} {len(v)}" for k, v in sorted(r.actions.items()))
        click.echo(f"{r.label}: {r.count('filed')} filed, {r.count('confirmed')} confirmed, {r.count('decided')} "
                   f"acted on{f' ({actions})' if actions else ''}, {r.count('no_action')} no violation found, "
                   f"{r.count('no_answer')} no answer, median "
                   f"{'—' if r.median_days is None else r.median_days} days, {r.count('still_online')} still online")
    if csv_file:
        from pathlib import Path

        partial = Path(f"{csv_file}.partial")  # never a half-written file under the name asked for
        partial.write_text(outcomes_csv(rows), encoding="utf-8")
        partial.replace(csv_file)
        click.echo(f"Written to {csv_file}.")
