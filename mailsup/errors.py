"""The one exception family the CLI prints as a single line instead of a traceback."""


class UserError(Exception):
    """A mistake the user can fix (bad config, unknown developer, bad date)."""
