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


class NoRepo(BadInput):
    """Neither the request nor the spec's frontmatter (`repo:`) names a repository."""


class UnknownPlaybook(BadInput):
    pass


class UnknownRef(BadInput):
    pass


class RunNotFound(BadInput):
    pass


class RunOwned(BadInput):
    """A pending run whose executor may still be running it; taking it over could run it twice."""


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
    """The next model call could cross the run's cap, so it was not made. Ends the run."""


class RoundOver(Exception):
    """An implement round ended; `reason` says why, in the words a run's record uses.

    Not an error: the loop raises it to stop, and the workflow catches it at the round's edge.
    """

    reason = "model_finished"

    def __init__(self, detail: str = "", text: str = "") -> None:
        super().__init__(detail)
        self.detail, self.text = detail, text


class ModelFinished(RoundOver):
    """The model answered without asking for a tool: it considers the work done."""


class TurnCapReached(RoundOver):
    """The round made as many model calls as the playbook allows."""

    reason = "turn_cap"


class RepeatedToolCall(RoundOver):
    """The model made the same tool call with the same result too often: it is going in circles."""

    reason = "repeated_tool_call"


class EnvironmentProblem(SpecmillError):
    """The machine cannot run specmill as configured (for example an old SQLite)."""


class PlanRejected(SpecmillError):
    """A person rejected the plan more often than the run may re-plan. Ends the run `rejected`."""


class ApprovalExpired(SpecmillError):
    """Nobody approved the plan before the deadline. Ends the run `approval_expired`."""


class EnvironmentSetupFailed(SpecmillError):
    """The repository's environment cannot be provisioned (an out-of-date lock, a missing Python, a
    failing build). Ends the run before any model call; the message names the cause and the fix."""


class PublishNotConfigured(BadInput):
    """Publishing was asked for, but the remote or the code host it needs is not set up."""


class PushRejected(SpecmillError):
    """The remote refused the push: its branch moved since specmill last pushed it, or it refused outright."""


class CodeHostError(SpecmillError):
    """The code host (GitHub's REST API) answered with an error that retrying will not fix."""


class CodeHostUnavailable(ServiceUnavailable):
    """The code host could not be reached, or answered 5xx or 429; worth retrying."""
