"""Errors the engine reports to its callers, each with a message fit to show a user."""


class NewsdeskError(Exception):
    """Base class: str(error) is a complete, user-facing sentence."""


class QuestionError(NewsdeskError):
    """The question cannot be asked as given (empty, too long)."""


class ModelMismatchError(NewsdeskError):
    """The store was embedded with another model than the one configured."""
