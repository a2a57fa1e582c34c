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
