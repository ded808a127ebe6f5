"""Entry point of `adolfd sandbox` (the implementation lives in `adolfd.sandbox.core`)."""
from adolfd.sandbox.core import serve

__all__ = ["serve"]
