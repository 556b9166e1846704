"""Entry point of the ``lgwan`` command."""

from __future__ import annotations

import os
import sys

import typer

from ..errors import LabInputError, LabStateError
from . import down, exec, export, inspect, model, status, up, validate, verify

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Emulate Japan's local-government network (LGWAN) and its Government Cloud link.")
app.command()(validate.validate)
app.command()(up.up)
app.command()(down.down)
app.command()(status.status)
app.command()(inspect.inspect)
app.command("exec")(exec.exec_)
app.command()(exec.shell)
app.command()(verify.verify)
app.add_typer(export.app, name="export")
app.add_typer(model.app, name="model")


def main() -> None:
    from .common import err_console

    try:
        app()
    except LabInputError as exc:
        for p in exc.problems:
            err_console.print(f"[red]error[/] {p}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except LabStateError as exc:
        err_console.print(f"[red]error[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        # a failure of the host or a daemon (the lab was rolled back); the detail is in the message
        if os.environ.get("LGWAN_DEBUG"):
            raise
        err_console.print(f"[red]error[/] {exc}", highlight=False, soft_wrap=True)
        err_console.print("(set LGWAN_DEBUG=1 to see where it failed)", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
