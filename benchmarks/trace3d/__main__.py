"""`python -m benchmarks.trace3d`: see the package docstring."""

from benchmarks.trace3d.runner import main

raise SystemExit(main())
