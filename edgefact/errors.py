"""User-facing errors.

Every error a user can cause (bad input, missing tool, model too large, ...) is raised as an
``EdgefactError`` whose message names the problem and the fix. The CLI prints the message on one
line (or a few) and exits with status 2, never with a traceback.
"""

from __future__ import annotations


class EdgefactError(Exception):
    """An error caused by the user's input or environment, with a message that says how to fix it."""


class MissingToolError(EdgefactError):
    """A required external tool (compiler, emulator, data set) is not installed."""


class UnsupportedOpError(EdgefactError):
    """A model contains an operator the code generator does not support."""


class ModelTooLargeError(EdgefactError):
    """A model does not fit the target's flash or RAM budget."""


class MalformedModelError(EdgefactError):
    """A model file is truncated, corrupted or not of the expected format."""
