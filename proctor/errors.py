"""Domain errors raised where input enters; the edges turn them into exit code 2 or a 4xx."""


class ProctorError(Exception):
    """Base of every error the analysis core raises on purpose."""


class InputError(ProctorError):
    """The input cannot be used (unreadable recording, bad reference photo, bad policy)."""


class RecordingError(InputError):
    """The recording cannot be decoded or has no usable video stream."""


class ReferencePhotoError(InputError):
    """The enrolled reference photo fails the quality checks (no face, several faces, small, blurred)."""


class ModelError(ProctorError):
    """A model file is missing or does not match its registered checksum."""
