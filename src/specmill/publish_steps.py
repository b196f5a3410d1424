"""The publish steps of a run: push its branch, open (or find) its pull request, answer a review.

Plain functions over the ports, like `steps`; the workflow makes each one a checkpointed step. Each
is safe to repeat after a crash: the push leaves a remote that already has the commit alone, and the
pull request step looks for an open pull request of the branch before it opens one.
"""

from __future__ import annotations

from specmill import records, run_index
from specmill.errors import PublishNotConfigured
from specmill.models import PullRequestRef
from specmill.phases import publish as text
from specmill.ports.code_host import NewPullRequest
from specmill.ports.remote import PushOutcome
from specmill.run import Run, Work
from specmill.steps import ports


def mode(run: Run) -> str:
    """`none`, `push` or `pr`: the request wins over the playbook; a revision publishes like its run."""
    return run.request.publish or run.playbook.publish


def push_branch(*, run: Run, head: str) -> PushOutcome:
    """Push the run's branch with a lease on what specmill last pushed there (nothing, for a new run)."""
    c = ports()
    lease = run.request.revision.head if run.request.revision else None
    return c.remote.push(run.workspace.repo, c.settings.git_remote, run.workspace.branch, head, lease)


def open_pull_request(*, run: Run, work: Work, pushed: PushOutcome, draft: bool, reason: str = "") -> PullRequestRef:
    """Exactly one pull request per run: an open one for the branch is reused, and the one used is recorded."""
    repository, host = ports().code_hosts.for_remote(pushed.url)
    pull = host.find_open_pull(run.workspace.branch)
    if pull is None:
        body = text.pull_body(
            run_id=run.id, spec=run.spec, report=work.report, verdict=work.verdict, ledger=work.ledger, reason=reason
        )
        base = _base_branch(run)
        pull = host.open_pull(
            NewPullRequest(
                title=text.pull_title(run.spec, succeeded=not draft),
                body=ports().redactor.redact(body),
                head=run.workspace.branch,
                base=base,
                draft=draft,
            )
        )
    run_index.write(records.save_pull_request, run.id, repository, pull.number, pull.url, run.workspace.branch)
    return pull


def reply_on_pull_request(*, run: Run, work: Work, pushed: PushOutcome) -> PullRequestRef:
    """A revision run answers the review on the pull request it continued: what changed, how tests stand."""
    revision = run.request.revision
    if revision is None or revision.pull_request is None:
        raise PublishNotConfigured("only a revision of a run with a pull request can reply on it")
    c = ports()
    repository, host = c.code_hosts.for_remote(pushed.url)
    body = text.revision_comment(
        run_id=run.id,
        of_run=revision.of_run,
        commits=c.remote.commits_between(run.workspace.repo, revision.head, work.head),
        report=work.report,
        accepted=work.accepted,
    )
    host.comment(revision.pull_request.number, c.redactor.redact(body))
    pull = revision.pull_request
    run_index.write(records.save_pull_request, run.id, repository, pull.number, pull.url, run.workspace.branch)
    return pull


def _base_branch(run: Run) -> str:
    """The branch the pull request merges into: the run's base ref when it names a branch, else the
    repository's checked-out branch."""
    ref = run.request.base or run.workspace.base_ref
    if ref in ("", "HEAD"):
        ref = ports().remote.current_branch(run.workspace.repo)
    return ref.removeprefix("refs/heads/").removeprefix("origin/")
