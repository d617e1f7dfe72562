"""``python -m deliberate.envs.declarative check PATH...``: validate family files without registering them."""

from deliberate.envs.declarative.load import main

raise SystemExit(main())
