"""What every ``miglab`` subcommand shares: one way to report a user's error."""

from __future__ import annotations

import typer

__all__ = ["fail"]


def fail(message: str) -> typer.Exit:
    """Print ``miglab: message`` on stderr and return the exit (status 1) to raise."""
    typer.echo(f"miglab: {message}", err=True)
    return typer.Exit(1)
