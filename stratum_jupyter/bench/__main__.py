"""``python -m stratum_jupyter.bench [flags]``: see :mod:`stratum_jupyter.bench`."""

import sys

from . import main

sys.exit(main())
