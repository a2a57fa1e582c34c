# Copy to instance/config.py to change settings. Environment variables REPORTKIT_<NAME> override this file.
# DATABASE_URL = "postgresql+psycopg://reportkit:secret@localhost/reportkit"
# REGISTRATION_OPEN = False
# MAX_CONTENT_LENGTH = 50 * 1024 * 1024
# SESSION_COOKIE_SECURE = True        # when served over HTTPS
# LOGIN_RATE_LIMIT = "10 per minute"
# RATELIMIT_STORAGE_URI = "redis://localhost:6379"   # for several worker processes
