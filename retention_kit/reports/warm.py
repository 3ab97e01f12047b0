"""Warm report kernels: the imports paid once, a fresh forked kernel per report.

A report kernel spends most of its CPU importing pandas, matplotlib, seaborn, scipy,
statsmodels and lifelines (about 5.5 of 6.3 s for a demo client; the report's own numbers
take under a second). :class:`KernelTemplate` starts one *template* process per batch (per
worker process with the process executor) that makes those imports, and nothing else,
then forks it once per report: the child becomes an ordinary IPython kernel
(``ipykernel``'s own start-up, on the connection file jupyter_client wrote) and exits when
the report is done. So each report still runs in a process of its own:

* a clean namespace: every child starts from the same just-imported state, and nothing a
  report does (variables, ``rcParams``, warnings filters, module attributes, environment)
  reaches the template or the next report;
* isolation: a report that crashes its kernel or hangs is killed alone, as before
  (``batch`` then retries it once in a kernel started from scratch);
* the same output: the template sets the environment a kernel would have before it
  imports anything (the inline matplotlib backend, ``JPY_PARENT_PID``, one BLAS thread),
  imports no module whose import configures the session (``matplotlib_inline``'s
  backend), and the child re-seeds NumPy's global generator as a new process would.

The template is single-threaded (a select loop over its socket, stdin and the children's
pidfds), so forking it is safe. It exits, killing its children, when its stdin closes:
when :meth:`KernelTemplate.close` runs or the process that started it dies. Linux only
(``os.pidfd_open``); elsewhere :func:`warm_kernels_supported` is False and the batch
starts a kernel per report.

The template runs as ``python -c ... <socket folder>``; the folder is a private temporary
one, removed by :meth:`KernelTemplate.close`.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Modules the template imports: those the report notebook imports, the heavy libraries
#: its functions import on first use, and the kernel's own (IPython, ipykernel). Missing
#: ones are skipped. ``matplotlib_inline.backend_inline`` is deliberately absent: its
#: import hooks into the running IPython shell, which only the forked kernel has.
WARM_IMPORTS: tuple[str, ...] = (
    "numpy", "pandas", "scipy.stats", "scipy.optimize", "scipy.special",
    "matplotlib.pyplot", "seaborn", "statsmodels.api", "lifelines",
    "retention_kit", "retention_kit.plots", "retention_kit.reports",
    "retention_kit.segments", "retention_kit.notebook", "retention_kit.models",
    "retention_kit.evaluation", "retention_kit.diagnostics", "retention_kit.contracts",
    "matplotlib.backends.backend_agg", "pyarrow.pandas_compat",
    "pyarrow.parquet",  # the customer list's Parquet file
    "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
    "ipykernel.debugger",  # debugpy: 1.5 s of every kernel's start
)

_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_SOCKET = "template.sock"
#: How the template is started (its last argument is the socket folder).
_BOOT = ("import os; os.environ['JPY_PARENT_PID'] = str(os.getpid()); "
         "from retention_kit.reports.warm import serve; serve()")


def warm_kernels_supported() -> bool:
    """True where a kernel can be forked from a template (Linux: ``os.pidfd_open``)."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and \
        hasattr(os, "fork")


def kernel_arguments(cmd: Sequence[str]) -> list[str] | None:
    """The arguments of ``cmd`` when it starts this interpreter's ipykernel (what a
    template's child can become), else None (such a kernel starts as usual).

    Examples
    --------
    >>> kernel_arguments([sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"])
    ['-f', 'k.json']
    >>> kernel_arguments(["R", "--slave", "-e", "IRkernel::main()", "--args", "k.json"])
    """
    cmd = list(cmd)
    if cmd[:3] == [sys.executable, "-m", "ipykernel_launcher"]:
        return cmd[3:]
    return None


class ForkedKernel:
    """The driver's handle on a kernel forked by the template: a :class:`subprocess.Popen`
    look-alike (``pid``, ``poll``, ``wait``, ``send_signal``, ``kill``, ``terminate``)
    for jupyter_client's local provisioner.

    The template reports the child's exit status on the connection that asked for it;
    the child is in a session of its own, so its process group is its pid.
    """

    stdin = stdout = stderr = None

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._conn = conn
        self._buffer = b""
        self._lock = threading.Lock()

    def _read_status(self, block: bool) -> None:
        while self.returncode is None:
            if b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                kind, _, value = line.decode().partition(" ")
                if kind == "exit":
                    self.returncode = int(value)
                    self._conn.close()
                continue
            try:
                chunk = self._conn.recv(4096, 0 if block else socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:  # the template went away: it killed its children first
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
                self.returncode = -signal.SIGKILL
                self._conn.close()
                return
            self._buffer += chunk

    def poll(self) -> int | None:
        """The exit code, or None while the kernel runs."""
        with self._lock:
            self._read_status(block=False)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the kernel to exit; :class:`subprocess.TimeoutExpired` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0.0)
            time.sleep(0.02)
        return int(self.returncode)  # type: ignore[arg-type]

    def send_signal(self, signum: int) -> None:
        """Signal the kernel while it runs (nothing once it has exited)."""
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL the kernel."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM the kernel."""
        self.send_signal(signal.SIGTERM)


class KernelTemplate:
    """A template process with the report's imports done, forking a kernel per report.

    Parameters
    ----------
    env : mapping
        The kernels' environment (what a kernel started from scratch would get); the
        template imports under it, so variables read at import time agree.
    modules : sequence of str
        What to import; default :data:`WARM_IMPORTS`.

    The template starts importing at once; :meth:`fork_kernel` waits until it is ready.
    Thread-safe. Close it with :meth:`close` (also a context manager).
    """

    def __init__(self, env: Mapping[str, str], modules: Sequence[str] = WARM_IMPORTS) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="rk-kernels-"))
        self._errors = open(self._folder / "template.log", "w+b")  # noqa: SIM115
        self._closed = threading.Event()
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self.error: str | None = None
        """Why the template could not start (None while it is fine)."""
        full_env = {**env, "RETENTION_KIT_WARM_IMPORTS": ",".join(modules)}
        self._process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(self._folder)], env=full_env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors,
            start_new_session=True)
        threading.Thread(target=self._await_ready, daemon=True).start()

    def _await_ready(self) -> None:
        assert self._process.stdout is not None
        line = self._process.stdout.readline().decode(errors="replace").strip()
        if line != "ready":
            self.error = self._failure(line or "the template exited while importing")
        self._ready.set()

    def _failure(self, what: str) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._errors.flush()
            self._errors.seek(0)
            tail = self._errors.read()[-3000:].decode(errors="replace").strip()
            if tail:
                what = f"{what}\n{tail}"
        return what

    @property
    def pid(self) -> int:
        """The template's process id."""
        return self._process.pid

    def wait_ready(self, timeout: float | None = 120.0) -> bool:
        """Wait until the imports are done; False if the template failed, closed or timed out."""
        if not self._ready.wait(timeout):
            self.error = f"the template was not ready after {timeout} s"
        return self.error is None and not self._closed.is_set()

    def fork_kernel(self, argv: Sequence[str], *, env: Mapping[str, str],
                    log_path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None,
                    timeout: float | None = 120.0) -> ForkedKernel:
        """Fork a kernel: ``python -m ipykernel_launcher <argv>`` (see
        :func:`kernel_arguments`) with ``env``, its output going to ``log_path``.

        Raises
        ------
        RuntimeError
            The template failed or was closed (the caller starts a kernel from scratch).
        """
        if not self.wait_ready(timeout):
            raise RuntimeError(f"no warm kernel: {self.error or 'the template was closed'}")
        request = json.dumps({"argv": [str(a) for a in argv], "env": dict(env),
                              "log": str(log_path), "cwd": str(cwd or os.getcwd())})
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(str(self._folder / _SOCKET))
            conn.sendall(request.encode() + b"\n")
            buffer = b""
            while b"\n" not in buffer:
                chunk = conn.recv(4096)
                if not chunk:
                    raise RuntimeError(f"no warm kernel: {self._failure('the template died')}")
                buffer += chunk
        except OSError as exc:
            conn.close()
            raise RuntimeError(f"no warm kernel: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        line, rest = buffer.split(b"\n", 1)
        kind, _, value = line.decode().partition(" ")
        if kind != "pid":
            conn.close()
            raise RuntimeError(f"no warm kernel: {line.decode(errors='replace')}")
        kernel = ForkedKernel(conn, int(value))
        kernel._buffer = rest
        return kernel

    def close(self, timeout: float = 5.0) -> None:
        """Stop the template and the kernels it forked; remove its socket folder."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
        self._ready.set()
        with contextlib.suppress(OSError, ValueError):
            self._process.stdin.close()  # type: ignore[union-attr]
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        with contextlib.suppress(OSError, ValueError):
            self._process.stdout.close()  # type: ignore[union-attr]
        self._errors.close()
        import shutil

        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> KernelTemplate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- the template


def serve() -> None:
    """The template process's main loop (started by :class:`KernelTemplate`).

    Sets what an IPython kernel sets before user code runs, imports the modules named in
    ``RETENTION_KIT_WARM_IMPORTS``, says "ready" on stdout, then forks a kernel per
    request until its stdin closes.
    """
    folder = Path(sys.argv[-1])
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; the kernel puts it back
    if not os.environ.get("MPLBACKEND"):  # as ipykernel's init_gui_pylab does
        os.environ["MPLBACKEND"] = _INLINE_BACKEND
    import importlib

    for name in filter(None, os.environ.pop("RETENTION_KIT_WARM_IMPORTS", "").split(",")):
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / _SOCKET))
    listener.listen(16)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    selector.register(listener, selectors.EVENT_READ, "listener")
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "stdin":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return
                elif key.data == "listener":
                    conn, _ = listener.accept()
                    _fork(conn, listener, selector, children)
                else:
                    pid, conn = children.pop(key.fd)
                    selector.unregister(key.fd)
                    os.close(key.fd)
                    _, status = os.waitpid(pid, 0)
                    with contextlib.suppress(OSError):
                        conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
                    conn.close()
    finally:
        for pidfd, (pid, conn) in children.items():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            os.close(pidfd)
            conn.close()


def _fork(conn: socket.socket, listener: socket.socket, selector: selectors.BaseSelector,
          children: dict[int, tuple[int, socket.socket]]) -> None:
    buffer = b""
    while b"\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            conn.close()
            return
        buffer += chunk
    request = json.loads(buffer.split(b"\n", 1)[0])
    pid = os.fork()
    if pid == 0:  # the kernel: never returns into the loop
        _become_kernel(request, [conn, listener], selector,
                       [c for _, c in children.values()], list(children))
    pidfd = os.pidfd_open(pid)
    children[pidfd] = (pid, conn)
    selector.register(pidfd, selectors.EVENT_READ, "child")
    with contextlib.suppress(OSError):
        conn.sendall(f"pid {pid}\n".encode())


def _become_kernel(request: dict[str, Any], sockets: list[socket.socket],
                   selector: selectors.BaseSelector, others: list[socket.socket],
                   pidfds: list[int]) -> None:
    code = 1
    try:
        os.setsid()
        selector.close()
        for sock in [*sockets, *others]:
            sock.close()
        for fd in pidfds:
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        if "numpy" in sys.modules:  # a new process gets a new seed; random does this itself
            sys.modules["numpy"].random.seed()
        import ipykernel_launcher

        sys.argv = [ipykernel_launcher.__file__, *request["argv"]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - report it in the kernel log, then exit
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
