"""Errors the domain raises when asked to do something its rules forbid."""


class DomainError(Exception):
    """A request that breaks a rule of the domain; its message is fit to show to the person who asked."""


class InvalidTransition(DomainError):
    """A class session asked to move to a state it cannot reach from where it is."""
