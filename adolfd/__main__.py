"""`python -m adolfd` is the `adolfd` command."""
import sys

from adolfd.admin.cli import main

sys.exit(main())
