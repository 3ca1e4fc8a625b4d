from japagen_core.cli import main

raise SystemExit(main())
