class ApplicationError(Exception):
    """An expected failure of a service, with a message fit to show the user.

    Views turn it into a form error or a message; the API (later) into its error envelope.
    ``extra`` carries machine-readable details.
    """

    def __init__(self, message: str, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
