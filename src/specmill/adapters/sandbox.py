"""Containment of the test command: model-written code never reaches the host.

The code under test was written by a model, in a repository nobody vetted, on a machine
that holds an Anthropic key, API tokens and the database with every run's checkpoints.
So every test run happens in bubblewrap (`bwrap`), and the sandbox fails closed: where
bubblewrap cannot create its namespaces the test run stops with an error naming the
setting, and running unisolated is an explicit choice (`SPECMILL_TEST_SANDBOX=none`)
written into every `TestReport`, i.e. the run's record.

Inside bubblewrap the tests see:

- the worktree (read-write, but for its `.git` pointer file) and a scratch directory of
  their own, which holds HOME;
- read-only: the toolchain (/usr, /bin, /lib*, a few files of /etc, the Python prefixes in
  use) and the repository environment's `read_only` paths; never a path that contains the
  worktree (that would show the data dir, whose SQLite file holds the checkpoints);
- no /run or /var/run (so no database or other unix socket), no /home or /root, a private
  /tmp, /dev/shm and /proc, and no network at all (`--unshare-all`);
- an environment built from an allow-list (no API key, database URL, token or
  SPECMILL_* setting);
- limits: CPU time, address space and file size per process (setrlimit before exec), no
  core dumps, a cap on the number of processes (enforced by the sandbox's init), and the
  caller's wall-clock timeout. Every process dies with the run: init is pid 1 of a pid
  namespace, and bubblewrap dies with its parent.

Inside the namespace a tiny Python init (`_INIT`) forks the command, reaps orphans, counts
the processes, and records the command's wait status in a file: pid 1 of a namespace
ignores signals it has no handler for, so the command must not be pid 1 or the limits'
signals (SIGXCPU, SIGXFSZ) would be dropped. When init exits the kernel kills everything
left inside.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from specmill.errors import EnvironmentProblem

log = logging.getLogger("specmill.sandbox")

Kind = Literal["bwrap", "none"]
SETTING = "SPECMILL_TEST_SANDBOX"
RUN_MARKER = "SANDBOX_RUN_ID"  # lets a sweep find processes that left the process group
STATUS_FILE = "exit-status"
LIMIT_FILE = "limit-hit"
PROBE_TIMEOUT_S = 10.0

DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    "PATH",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TERM",
    "PYTHONPATH",
    "PYTHONHASHSEED",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "JAVA_HOME",
    "GOPATH",
    "GOROOT",
    "GOCACHE",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "NODE_PATH",
    "CI",
    "NO_COLOR",
    "FORCE_COLOR",
    "COLUMNS",
    "SOURCE_DATE_EPOCH",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
)

# The toolchain every test run sees, read-only. A symlink (merged /usr) is recreated as one.
TOOLCHAIN = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt")
ETC_FILES = (
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/os-release",
    "/etc/mime.types",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/python3",
)

_INIT = r"""
import os, signal, sys, time
status_file, limit_file, max_procs, argv = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
child = os.fork()
if child == 0:
    for name in ("SIGPIPE", "SIGXFSZ"):  # Python ignores these; exec would pass that on
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        sys.stderr.write("cannot run %s: %s\n" % (argv[0], exc))
        os._exit(127)
status = None
while status is None:
    pid, code = os.waitpid(-1, os.WNOHANG)
    while pid:
        if pid == child:
            status = code
            break
        pid, code = os.waitpid(-1, os.WNOHANG)
    if status is None and max_procs and sum(name.isdigit() for name in os.listdir("/proc")) > max_procs:
        with open(limit_file, "w") as f:
            f.write("processes")
        os.kill(-1, signal.SIGKILL)  # pid 1 of the namespace: every process but init
        os.waitpid(child, 0)
        status = 9
    elif status is None:
        time.sleep(0.05)
with open(status_file, "w") as f:
    f.write(str(status))
"""


@dataclass(frozen=True)
class Limits:
    """Limits of the test command and everything it starts; 0 means none."""

    cpu_s: int = 900
    memory_mb: int = 4096
    file_size_mb: int = 512
    processes: int = 256

    def describe(self) -> str:
        def shown(value: int, unit: str) -> str:
            return f"{value} {unit}".strip() if value else "unlimited"

        return (
            f"cpu {shown(self.cpu_s, 's')}, memory {shown(self.memory_mb, 'MiB')}, "
            f"file size {shown(self.file_size_mb, 'MiB')}, processes {shown(self.processes, '')}"
        )


@dataclass(frozen=True)
class Sandbox:
    """How one test command is started; see the module docstring for what each kind gives."""

    kind: Kind
    reason: str = ""
    limits: Limits = field(default_factory=Limits)
    env_allow: tuple[str, ...] = DEFAULT_ENV_ALLOW

    def command(self, argv: Sequence[str], root: Path, scratch: Path, read_only: Sequence[str] = ()) -> list[str]:
        """`argv` wrapped so that it runs inside the sandbox, in `root`; `read_only` host paths stay visible
        (read-only) inside it."""
        if self.kind == "none":
            return list(argv)
        init = [sys.executable, "-I", "-S", "-c", _INIT, str(scratch / STATUS_FILE), str(scratch / LIMIT_FILE)]
        return [
            *bwrap_arguments(root.resolve(), scratch.resolve(), read_only),
            "--",
            *init,
            str(self.limits.processes),
            *argv,
        ]

    def exit_code(self, returncode: int | None, scratch: Path) -> int | None:
        """The command's own exit code (negative: killed by that signal), not the wrapper's."""
        if self.kind == "none":
            return returncode
        try:
            return os.waitstatus_to_exitcode(int((scratch / STATUS_FILE).read_text()))
        except (OSError, ValueError):
            return None  # init itself was killed (timeout), so the command never reported

    def limit_hit(self, scratch: Path) -> str:
        """The limit the sandbox's init enforced by stopping everything ("processes"), or ""."""
        try:
            return (scratch / LIMIT_FILE).read_text().strip()
        except OSError:
            return ""

    def environment(self, environ: Mapping[str, str], scratch: Path, marker: str) -> dict[str, str]:
        """Only allow-listed variables, plus a private TMPDIR and HOME, and the sweep marker."""
        tmp, home = scratch / "tmp", scratch / "home"
        tmp.mkdir(exist_ok=True)
        home.mkdir(exist_ok=True)
        env = {name: value for name, value in environ.items() if _allowed(name, self.env_allow)}
        env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", TMPDIR=str(tmp), TMP=str(tmp), TEMP=str(tmp))
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"))
        env[RUN_MARKER] = marker
        return env

    def preexec(self) -> None:
        """Runs in the child between fork and exec: only setrlimit calls, nothing that locks."""
        mib = 1024 * 1024
        if self.limits.cpu_s:
            _limit(resource.RLIMIT_CPU, self.limits.cpu_s, self.limits.cpu_s + 5)  # SIGXCPU, then SIGKILL
        if self.limits.memory_mb:
            _limit(resource.RLIMIT_AS, self.limits.memory_mb * mib)
        if self.limits.file_size_mb:
            _limit(resource.RLIMIT_FSIZE, self.limits.file_size_mb * mib)
        _limit(resource.RLIMIT_CORE, 0)

    def describe(self) -> str:
        """One line for the run's record: what isolates the tests, and what does not."""
        if self.kind == "bwrap":
            what = (
                "sandbox: bubblewrap (no network; only the worktree writable; toolchain and environment read-only; "
                "private HOME, /tmp and /proc; no /run, no data dir)"
            )
        else:
            what = f"sandbox: NONE ({SETTING}=none) — tests run as this user, with its files, network and processes"
        limits = self.limits if self.kind == "bwrap" else replace(self.limits, processes=0)  # init counts them
        return f"{what}; limits: {limits.describe()}; environment: allow-list"


def toolchain_paths(extra: Sequence[str] = ()) -> list[str]:
    """What a test run sees read-only: the system toolchain, this interpreter's prefixes and `extra`."""
    python = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    python.append(str(Path(sys.executable).resolve().parent.parent))
    return [*TOOLCHAIN, *ETC_FILES, *dict.fromkeys(python), *extra]


def bwrap_arguments(root: Path, scratch: Path, read_only: Sequence[str] = ()) -> list[str]:
    """bubblewrap's options: namespaces, then mounts from the outermost in so no bind hides another."""
    args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm", "--tmpfs", "/var/tmp"]
    mounts: list[tuple[str, list[str]]] = []
    for raw in toolchain_paths(read_only):
        path = Path(raw)
        if not path.is_absolute() or not os.path.lexists(path):
            continue
        if path.is_symlink() and path.parent == Path("/"):
            mounts.append((str(path), ["--symlink", os.readlink(path), str(path)]))
            continue
        real = path.resolve()
        if real == Path("/") or root.is_relative_to(real) or scratch.is_relative_to(real):
            log.warning("not binding %s into the test sandbox: it contains the worktree or the data dir", raw)
            continue
        mounts.append((str(path), ["--ro-bind", str(real), str(path)]))
    for writable in (root, scratch):
        mounts.append((str(writable), ["--bind", str(writable), str(writable)]))
    for _, mount in sorted(mounts, key=lambda item: (len(Path(item[0]).parts), item[0])):
        args += mount
    if (root / ".git").is_file():  # the worktree's pointer to its git directory: tests may read, not change it
        args += ["--ro-bind", str(root / ".git"), str(root / ".git")]
    return [*args, "--remount-ro", "/", "--chdir", str(root)]


def _allowed(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    """Lower a limit; never try to raise a hard limit that is already lower (that fails)."""
    _, current_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    try:
        resource.setrlimit(kind, (soft, hard))
    except (ValueError, OSError):
        pass  # a limit we cannot set is still better than a child that does not start


def detect_sandbox(
    mode: Kind = "bwrap",
    limits: Limits | None = None,
    env_allow: Sequence[str] = (),
) -> Sandbox:
    """The sandbox asked for, tried for real: bubblewrap, or none when that is explicitly chosen.

    Raises `EnvironmentProblem` naming the setting when bubblewrap cannot run here; it never
    falls back to running unisolated.
    """
    limits = limits or Limits()
    allow = DEFAULT_ENV_ALLOW + tuple(env_allow)
    if mode == "none":
        log.warning("%s=none: tests run without a sandbox, with this user's files, network and processes", SETTING)
        return Sandbox("none", f"{SETTING}=none", limits, allow)
    if mode != "bwrap":
        raise EnvironmentProblem(f"{SETTING}={mode} is not a sandbox specmill knows: use bwrap (default) or none")
    problem = _probe()
    if problem is not None:
        raise EnvironmentProblem(
            f"tests cannot run: {problem}. Install bubblewrap (apt-get install bubblewrap) and allow it to create "
            f"namespaces (in a container see the README's Security model), or set {SETTING}=none to run tests "
            "without a sandbox"
        )
    return Sandbox("bwrap", "", limits, allow)


@functools.lru_cache(maxsize=None)
def _probe() -> str | None:
    """None when bubblewrap works here, else why not. Runs the real wrapper once per process."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed"
    with tempfile.TemporaryDirectory(prefix="specmill-probe-") as folder:
        scratch = Path(folder)
        sandbox = Sandbox("bwrap")
        argv = sandbox.command([sys.executable, "-I", "-S", "-c", "pass"], scratch, scratch)
        try:
            done = subprocess.run(
                argv, cwd=scratch, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap cannot start ({exc})"
        if done.returncode != 0 or sandbox.exit_code(done.returncode, scratch) != 0:
            last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            return f"bubblewrap cannot create namespaces here ({last[:160]})"
    return None


def kill_stragglers(marker: str) -> int:
    """SIGKILL every process that still carries `marker` in its environment; returns how many.

    Killing the process group misses a child that called setsid(); outside a namespace
    this sweep is what finds it (one that also cleared its environment would escape).
    """
    needle = f"{RUN_MARKER}={marker}".encode()
    killed = 0
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    return killed
