"""Allow `python -m certsync`."""

from certsync.cli import main

raise SystemExit(main())
