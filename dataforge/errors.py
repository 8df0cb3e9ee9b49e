"""Errors a user can act on. The CLI prints their message, never a traceback."""


class DataforgeError(Exception):
    """Base of every error dataforge raises on purpose."""


class SchemaError(DataforgeError):
    """A table does not match the record schema."""


class ConfigError(DataforgeError):
    """A recipe or operator parameter is wrong."""


class InputError(DataforgeError):
    """An input file or row cannot be read; the message names file, line and field."""


class MissingResourceError(DataforgeError):
    """A model, data file or optional package is absent; the message says what to supply."""
