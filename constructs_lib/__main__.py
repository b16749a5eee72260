"""``python -m constructs_lib``: the ``constructs-lib`` console command."""

from .cli import main

raise SystemExit(main())
