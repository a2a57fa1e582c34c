"""gunicorn's settings for reportkit (`reportkit serve` passes `-c python:reportkit.gunicorn_conf`; the systemd
unit in deploy/ too). Anything given on the command line or in GUNICORN_CMD_ARGS wins over these.

The access log goes to stderr with each request's id (reportkit/logs.py sets and echoes `X-Request-ID`), its
path without the query string (search words stay out) and no client address.
"""

accesslog = "-"
errorlog = "-"
access_log_format = 'request_id=%({x-request-id}o)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
