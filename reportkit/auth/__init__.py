from .views import bp  # noqa: F401
from . import forgot  # noqa: F401,E402  - adds /auth/forgot to bp
from . import preferences  # noqa: F401,E402  - adds /auth/settings/time-zone to bp
