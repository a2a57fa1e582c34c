from . import (
    forgot,  # noqa: F401,E402  - adds /auth/forgot to bp
    preferences,  # noqa: F401,E402  - adds /auth/settings/time-zone to bp
)
from .views import bp  # noqa: F401
