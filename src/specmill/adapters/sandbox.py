"""Containment of the test command: no network, a scrubbed environment, resource limits.

The code under test was written by a model, in a repository nobody vetted, on a machine
that holds an Anthropic key and database credentials. So every test run gets:

- a private network and process namespace when the machine allows it. The choice is
  made once per process by trying, in order, bubblewrap (also a read-only root file
  system with only the worktree and a scratch directory writable) and `unshare` (util-
  linux; network and processes only). When neither works, tests run unisolated and
  `describe()` says so; that text goes into every `TestReport`, i.e. the run's record.
- an environment built from an allow-list, so no API key, database URL, SPECMILL_*
  setting or token reaches the tests, and a temporary directory of its own;
- CPU-time, address-space and file-size limits (setrlimit in the child before exec),
  and no core dumps (a core file holds the process's memory).

Inside a namespace a tiny Python init (`_INIT`) forks the command, reaps orphans, and
records the command's wait status in a file: pid 1 of a namespace ignores signals it
has no handler for, so the command must not be pid 1 or the limits' signals (SIGXCPU,
SIGXFSZ) would be dropped. When init exits the kernel kills everything left inside.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from specmill.errors import EnvironmentProblem

log = logging.getLogger("specmill.sandbox")

Kind = Literal["bwrap", "unshare", "none"]
RUN_MARKER = "SANDBOX_RUN_ID"  # lets a sweep find processes that left the process group
STATUS_FILE = "exit-status"
PROBE_TIMEOUT_S = 10.0

DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    "PATH",
    "HOME",
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

_INIT = r"""
import fcntl, os, signal, socket, struct, sys
status_file, loopback, argv = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
if loopback:  # a fresh network namespace has its loopback down; local test servers need it
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, struct.pack("16sh", b"lo", 0)))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 1))
    except OSError:
        pass
child = os.fork()
if child == 0:
    for name in ("SIGPIPE", "SIGXFSZ"):  # Python ignores these; exec would pass that on
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        sys.stderr.write("cannot run %s: %s\n" % (argv[0], exc))
        os._exit(127)
while True:
    pid, status = os.wait()
    if pid == child:
        break
with open(status_file, "w") as f:
    f.write(str(status))
"""


@dataclass(frozen=True)
class Limits:
    """Per-process limits of the test command and everything it starts; 0 means none."""

    cpu_s: int = 900
    memory_mb: int = 4096
    file_size_mb: int = 512

    def describe(self) -> str:
        def shown(value: int, unit: str) -> str:
            return f"{value} {unit}" if value else "unlimited"

        return (
            f"cpu {shown(self.cpu_s, 's')}, memory {shown(self.memory_mb, 'MiB')}, "
            f"file size {shown(self.file_size_mb, 'MiB')}"
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
        status = str(scratch / STATUS_FILE)
        init = [sys.executable, "-I", "-S", "-c", _INIT]
        if self.kind == "bwrap":
            root_s, scratch_s = str(root.resolve()), str(scratch.resolve())
            return [
                "bwrap",
                "--die-with-parent",
                "--unshare-net",
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
                "--unshare-cgroup-try",
                "--cap-drop",
                "ALL",
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--tmpfs",
                "/dev/shm",
                "--bind",
                root_s,
                root_s,
                "--bind",
                scratch_s,
                scratch_s,
                "--chdir",
                root_s,
                "--",
                *init,
                status,
                "0",
                *argv,
            ]
        if self.kind == "unshare":
            return [*_UNSHARE, "--", *init, status, "1", *argv]
        return list(argv)

    def exit_code(self, returncode: int | None, scratch: Path) -> int | None:
        """The command's own exit code (negative: killed by that signal), not the wrapper's."""
        if self.kind == "none":
            return returncode
        try:
            return os.waitstatus_to_exitcode(int((scratch / STATUS_FILE).read_text()))
        except (OSError, ValueError):
            return None  # init itself was killed (timeout), so the command never reported

    def environment(self, environ: Mapping[str, str], scratch: Path, marker: str) -> dict[str, str]:
        """Only allow-listed variables, plus a private TMPDIR and the sweep marker."""
        tmp = scratch / "tmp"
        tmp.mkdir(exist_ok=True)
        env = {name: value for name, value in environ.items() if _allowed(name, self.env_allow)}
        env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", TMPDIR=str(tmp), TMP=str(tmp), TEMP=str(tmp))
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
        network = {
            "bwrap": "network: bubblewrap (no network; private /proc; read-only file system except the worktree)",
            "unshare": "network: unshare netns (no network; private /proc; the file system is shared)",
            "none": "network: none available — tests can reach the network and this machine's processes",
        }[self.kind]
        if self.kind == "none" and self.reason.startswith("SPECMILL_TEST_SANDBOX"):
            network = "network: isolation turned off — tests can reach the network and this machine's processes"
        why = f" ({self.reason})" if self.reason else ""
        return f"{network}{why}; limits: {self.limits.describe()}; environment: allow-list"


_UNSHARE = ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--mount-proc", "--kill-child"]


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
    mode: Literal["auto", "bwrap", "unshare", "none"] = "auto",
    limits: Limits | None = None,
    env_allow: Sequence[str] = (),
) -> Sandbox:
    """The best isolation this machine offers (or the one asked for), found by trying it."""
    limits = limits or Limits()
    allow = DEFAULT_ENV_ALLOW + tuple(env_allow)
    if mode == "none":
        return Sandbox("none", "SPECMILL_TEST_SANDBOX=none", limits, allow)
    problems: list[str] = []
    for kind in ("bwrap", "unshare") if mode == "auto" else (mode,):
        problem = _probe(kind)
        if problem is None:
            return Sandbox(kind, "", limits, allow)
        problems.append(problem)
        if mode != "auto":
            raise EnvironmentProblem(
                f"SPECMILL_TEST_SANDBOX={mode} but {problem}: install it (bubblewrap: apt-get install bubblewrap) "
                "or set SPECMILL_TEST_SANDBOX=auto"
            )
    reason = "; ".join(problems)
    log.warning("tests will run without network isolation: %s", reason)
    return Sandbox("none", reason, limits, allow)


@functools.lru_cache(maxsize=None)
def _probe(kind: Kind) -> str | None:
    """None when `kind` works here, else why not. Runs the real wrapper once per process."""
    program = "bwrap" if kind == "bwrap" else "unshare"
    if shutil.which(program) is None:
        return f"{'bubblewrap' if kind == 'bwrap' else 'unshare'} is not installed"
    with tempfile.TemporaryDirectory(prefix="specmill-probe-") as folder:
        scratch = Path(folder)
        sandbox = Sandbox(kind)
        argv = sandbox.command([sys.executable, "-I", "-S", "-c", "pass"], scratch, scratch)
        try:
            done = subprocess.run(
                argv, cwd=scratch, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{program} cannot start ({exc})"
        if done.returncode != 0 or sandbox.exit_code(done.returncode, scratch) != 0:
            last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            return f"{program} cannot create namespaces here ({last[:160]})"
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
