"""The exceptions that drive specmill's control flow.

Every error a user can cause is a `BadInput`: its message is one line that names
the input and the fix. The CLI turns those into exit code 2.
"""

from __future__ import annotations


class SpecmillError(Exception):
    """Base class; the message is meant for people."""


class BadInput(SpecmillError):
    """The user asked for something that cannot work; retrying will not help."""


class SpecNotFound(BadInput):
    pass


class ProjectNotFound(BadInput):
    """The Basic Memory project named does not exist; every Basic Memory tool says so alike."""


class SpecWithoutCriteria(BadInput):
    pass


class NotAGitRepository(BadInput):
    pass


class UnknownPlaybook(BadInput):
    pass


class UnknownRef(BadInput):
    pass


class RunNotFound(BadInput):
    pass


class ServiceUnavailable(SpecmillError):
    """A service specmill depends on could not be reached or started."""


class BasicMemoryUnavailable(ServiceUnavailable):
    pass


class NoteConflict(SpecmillError):
    """The note changed since it was read (compare-and-swap lost); read again and retry."""


class ModelError(SpecmillError):
    """The model API refused a request for a reason retrying will not fix."""


class TransientModelError(SpecmillError):
    """The model API is overloaded, rate-limited or unreachable; the step retries."""


class BudgetExhausted(SpecmillError):
    """The next model call could cross the run's cap, so it was not made."""


class EnvironmentProblem(SpecmillError):
    """The machine cannot run specmill as configured (for example an old SQLite)."""
