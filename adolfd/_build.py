"""The wheel's build step (pyproject.toml `[tool.setuptools.cmdclass]`, never imported at run time).

`schema.sql` stays at the repository root, beside pyproject.toml, where operators and reviewers look for it;
`adolfd migrate` after a plain `pip install` needs it inside the package, so the build copies it there
(`adolfd.process.db.schema_sql` reads that copy, or the root file in a checkout). Listing it as a source file puts it
in the sdist too, so a wheel built from the sdist has it as well.
"""
from __future__ import annotations

import os

from setuptools.command.build_py import build_py

SCHEMA = "schema.sql"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):    # an editable install reads the checkout's own file
            return
        package = os.path.join(self.build_lib, "adolfd")
        self.mkpath(package)
        self.copy_file(SCHEMA, os.path.join(package, SCHEMA))

    def get_source_files(self) -> list[str]:
        return [*super().get_source_files(), SCHEMA]
