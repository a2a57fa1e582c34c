"""The one error a service raises when it refuses input or a move; `errors.py` turns it into a page or JSON.

A service says what is wrong (`message`), which field it is about (`field`, or None) and the HTTP status that
fits (422 bad input, 409 wrong state, 403 a missing right, 413/415 uploads). Views and the API do not translate
it: the handler in `reportkit/errors.py` rolls the session back, so nothing half-done is saved, and answers with
the message. Views that re-render a form instead catch it and put the message on the field (`forms.refuse`).
"""


class ServiceError(ValueError):
    status = 422
    code = "validation_error"
    title = "Nothing was changed"

    def __init__(self, message: str, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.field = field
        if status is not None:
            self.status = status
