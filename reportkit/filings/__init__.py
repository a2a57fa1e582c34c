from . import assistant, commands, outcomes  # noqa: F401  (their routes and `reportkit` commands register on bp)
from .views import bp  # noqa: F401
