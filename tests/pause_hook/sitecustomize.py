"""Test-only, never part of the product: holds a specmill process at the worst moment for a crash.

Crash tests start specmill with this folder on PYTHONPATH and SPECMILL_TEST_PAUSE_AT=STEP (or
STEP#N): the N-th execution of STEP in that process then stops after its work, when it publishes
its `step_finished` event and before DBOS checkpoints it, and `<data dir>/paused-at` appears, so
the test can SIGKILL the process exactly there. Any other process that inherits the folder on
its path (a repository's own pytest, say) finds no SPECMILL_TEST_PAUSE_AT and loads nothing.
"""

import os

_WANTED = os.environ.get("SPECMILL_TEST_PAUSE_AT", "")

if _WANTED:
    import threading
    from pathlib import Path

    from specmill import progress

    _step, _, _nth = _WANTED.partition("#")
    _seen = [0]

    def _hold(event: "progress.ProgressEvent") -> None:
        if event.kind != "step_finished" or event.step != _step:
            return
        _seen[0] += 1
        if _seen[0] == int(_nth or 1):
            data_dir = Path(os.environ.get("SPECMILL_DATA_DIR", ".specmill"))
            (data_dir / "paused-at").write_text(_WANTED)
            threading.Event().wait()  # until the test kills the process

    progress.subscribe(_hold)
