"""Job modules, one package per seed (plus `operations`, adolfd's own). Each package declares itself once in its
`__init__.py` as `MODULE = ModuleSpec(...)` (adolfd.engine.module) and is listed in adolfd.modules."""
