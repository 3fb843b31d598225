"""Domain errors of the session service; the web edge maps them to 404, 409 and 422."""

from proctor.errors import ProctorError


class NotFoundError(ProctorError):
    """No such object for this college (another college's ids are not found either)."""


class StateError(ProctorError):
    """The session is not in a state that allows this action."""


class InvalidInputError(ProctorError):
    """Input that cannot be used: a photo without a usable face, a recording that does not decode."""


class TooLargeError(ProctorError):
    """More than a limit allows (a part, or a session's recording): 413."""


class SealedError(ProctorError):
    """The session's recording is sealed: nothing more is taken (410)."""
