from . import commands, outcomes  # noqa: F401  (`reportkit recheck` and the outcome pages, on the blueprint)
from .views import bp  # noqa: F401
