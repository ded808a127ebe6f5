"""`python -m adolfd` is the `adolfd` command."""
import sys

from adolfd.cli import main

sys.exit(main())
