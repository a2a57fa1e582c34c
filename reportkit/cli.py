"""The `reportkit` command: a FlaskGroup, so `reportkit run` and `reportkit db upgrade` work as usual."""

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup
from sqlalchemy import func, select

from .extensions import db
from .models import ApiToken, User
from .services.policies import seed_policies


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
    if len(password) < 10:
        raise click.ClickException("The password needs at least 10 characters.")
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


@click.command("seed-policies")
def seed_policies_command() -> None:
    """Load the shipped policy catalogue (safe to run again: it updates by key)."""
    counts = seed_policies()
    click.echo("Policy catalogue: {platforms} platforms, {policies} policies, {clauses} clauses.".format(**counts))


def init_app(app: Flask) -> None:
    for command in (create_user, create_token, seed_policies_command):
        app.cli.add_command(command)


def _create_app():
    from . import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="reportkit: evidence catalogue and dossiers.")
