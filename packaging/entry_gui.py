"""Entry point of the windowed executable built on Windows and macOS (no console window)."""

from codeformer_app.cli.gui_cmd import main_gui as main

raise SystemExit(main())
