from . import commands  # noqa: F401  (registers `reportkit recheck` on the blueprint)
from .views import bp  # noqa: F401
