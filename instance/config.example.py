# Copy to instance/config.py to change settings. Environment variables REPORTKIT_<NAME> override this file.
# DATABASE_URL = "postgresql+psycopg://reportkit:secret@localhost/reportkit"
# REGISTRATION_OPEN = False
# MAX_CONTENT_LENGTH = 50 * 1024 * 1024
# SESSION_COOKIE_SECURE = True        # when served over HTTPS
# LOGIN_RATE_LIMIT = "10 per minute"
# RATELIMIT_STORAGE_URI = "redis://localhost:6379"   # for several worker processes
# TIMESTAMP_URLS = ["https://freetsa.org/tsr"]          # RFC 3161 authorities that timestamp each package manifest
# SIGNING_CERT = "/etc/reportkit/signer.pem"            # sign every dossier PDF (pyHanko)
# SIGNING_KEY = "/etc/reportkit/signer.key"
# SIGNING_KEY_PASSPHRASE = "…"
