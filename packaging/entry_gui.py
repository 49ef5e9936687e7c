"""Entry point of the windowed executable built on Windows and macOS (no console window)."""

from codeformer_app.gui.app import main

raise SystemExit(main())
