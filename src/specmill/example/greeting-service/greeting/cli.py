"""The command line: one Typer app per command group."""

import typer

app = typer.Typer(help="Greeting service tools.")


@app.command()
def hello(name: str) -> None:
    """Print a greeting."""
    typer.echo(f"Hello, {name}!")
