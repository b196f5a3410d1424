"""Sweeps: find the spec notes marked ready and implement each version of them exactly once.

Teams write specs during the day; a sweep (nightly on `SPECMILL_SWEEP_CRON`, default
`0 2 * * *` in `SPECMILL_SWEEP_TIMEZONE`, or now with `specmill sweep`) finds the ready ones
and puts one run per new version on the `implementations` queue, with that queue's limits.

Which notes. A spec is a note with frontmatter `type: spec`, or any note in one of
`SPECMILL_SWEEP_FOLDERS`. It is ready when its frontmatter status is one of
`SPECMILL_SWEEP_READY_STATUSES` (default `ready,approved`). Its repository is its `repo:`
(a name from `SPECMILL_SWEEP_REPOS`, or a path; a relative one starts at `SPECMILL_REPOS_DIR`),
else `SPECMILL_SWEEP_DEFAULT_REPO`, else the note is skipped with that reason; its `playbook:`
names the playbook of its run (`spec_choices.py`). `discover.py` says how messy notes are read.

Exactly once. A run's id is `v<hash>-<permalink slug>`, the hash taken over the project, the
permalink and the note's version: its content without the `## Implementation Status`
section and the `status:` that specmill writes (`version.py`). DBOS keys workflows by id, so:
- a version that has a run, in any state, is never enqueued again by a sweep; one whose run
  failed waits until someone edits the spec (a new version) or resumes that run;
- an edited spec is a new version and gets a new run; a queued run of its older version that
  has not started is cancelled, and a run whose spec changed before it read it stops at once
  (the run's workflow checks it), so no edit is implemented under an older version's id;
- the enqueue itself is an insert only one caller wins (DBOS's reuse policy "reject"), so two
  sweeps at once, or a sweep and a `specmill run`, never put one version on the queue twice;
- `specmill run SPEC` names its run by the same version id when `--run-id` is not given, so a
  manual run and a sweep share one record per version. Running an unchanged spec again
  therefore reports the run it already had (the documented `--run-id` behaviour: an
  existing run is continued or reported); pass `--run-id NEW` to implement it once more.
  Runs started over HTTP keep their own ids (or Idempotency-Key) and are not versions.

Missed slots. With `SPECMILL_SWEEP_BACKFILL=true`, a process starting after downtime runs one
sweep per slot it missed (DBOS's automatic backfill); off by default, because the first
sweep after downtime already finds everything still ready and the others would find nothing.

Reports. Every sweep but a dry run writes a note `<SPECMILL_SWEEP_REPORT_FOLDER>/<date> <time>
<tag>`: what it enqueued and what it skipped, with why. The next sweep adds a
`## Final Status` section to the previous sweep's report, with each of its runs' state then.

`specmill sweep --dry-run` lists what would be enqueued and writes nothing: Basic Memory is
only read, and DBOS is not launched (the system database is only queried).
"""
