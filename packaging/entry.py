"""The bundled program's entry point: the command line, whose ``gui`` subcommand opens the window."""

from codeformer_app.cli.main import main

raise SystemExit(main())
