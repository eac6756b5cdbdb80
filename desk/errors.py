"""The one exception every service raises when a rule says no; each door shows its message and code."""


class ActionRefused(Exception):
    """A rule refused an action. `message` is for the person (translated); `code` names the rule for API clients.

    Raised before anything is written, or inside the service's transaction so that nothing stays written.
    """

    def __init__(self, code: str, message):
        super().__init__(str(message))
        self.code = code
        self.message = message

    def __str__(self):
        return str(self.message)
