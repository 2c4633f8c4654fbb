"""``python -m mailsup``: the same command line as the ``mailsup`` script."""

import sys

from mailsup.cli import main

sys.exit(main())
