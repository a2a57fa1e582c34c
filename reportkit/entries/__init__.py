from . import capture  # noqa: F401  ('Capture now': a route on the same blueprint)
from .views import bp  # noqa: F401
