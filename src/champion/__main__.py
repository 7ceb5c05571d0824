from __future__ import annotations

from champion.cli import main

raise SystemExit(main())
