"""Allow ``python -m smmcheck``."""

from smmcheck.cli.main import main

raise SystemExit(main())
