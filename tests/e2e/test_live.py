"""`memray run --live`, `run --live-remote` and `memray live PORT`, driven in
tmux (80x24 unless a test resizes): the live_steps fixture holds 1 MiB, then
3 MiB, then nothing, each step on SIGUSR1, and the screen must show the
exact bytes of each step. Every wait is bounded; a test that hangs fails."""
import os
import re
import shlex
import signal
import socket
import subprocess
import time

import pytest

from conftest import FIXTURES, MEMRAY, line_of, location, run, stats

SOCKET = "memray-e2e-live-%d" % os.getpid()
MiB = 1 << 20


def tmux(*args, check=True):
    return subprocess.run(["tmux", "-L", SOCKET] + list(args), capture_output=True, text=True,
                          timeout=10, check=check)


@pytest.fixture(scope="module", autouse=True)
def tmux_server():
    yield
    tmux("kill-server", check=False)


class Screen:
    """A command in a tmux window of its own; its exit status and stderr go to files."""
    count = 0

    def __init__(self, tmp_path, argv, env=None, width=80, height=24):
        Screen.count += 1
        self.name = "w%d" % Screen.count
        self.status = tmp_path / ("%s.status" % self.name)
        self.stderr = tmp_path / ("%s.stderr" % self.name)
        prefix = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in (env or {}).items())
        command = "%s %s 2>%s; echo $? >%s; sleep 600" % (
            ("env " + prefix) if prefix else "", " ".join(shlex.quote(str(a)) for a in argv),
            shlex.quote(str(self.stderr)), shlex.quote(str(self.status)))
        tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", self.name, "-c", str(tmp_path),
             command)

    def text(self, escapes=False):
        return tmux("capture-pane", "-p", "-t", self.name, *(["-e"] if escapes else [])).stdout

    def wait(self, what, timeout=15, wrapped=False):
        """Wait until the screen matches the regex `what`; returns the screen.
        wrapped: match the screen's lines joined by spaces (a message over lines)."""
        end = time.time() + timeout
        while True:
            screen = self.text()
            if re.search(what, flat(screen) if wrapped else screen):
                return screen
            if time.time() > end:
                raise AssertionError("no %r on the screen within %ds:\n%s" % (what, timeout, screen))
            time.sleep(0.1)

    def keys(self, *keys):
        tmux("send-keys", "-t", self.name, *keys)

    def exit_status(self, timeout=15):
        end = time.time() + timeout
        while not (self.status.exists() and self.status.read_text().strip()):
            if time.time() > end:
                raise AssertionError("still running after %ds:\n%s" % (timeout, self.text()))
            time.sleep(0.1)
        return int(self.status.read_text())

    def close(self):
        tmux("kill-session", "-t", self.name, check=False)


@pytest.fixture
def screens():
    made = []
    yield made
    for s in made:
        s.close()


def flat(screen):
    return re.sub(r" *\n", " ", screen)


def wait_for_file(path, timeout=15):
    end = time.time() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.time() < end, "%s never appeared" % path
        time.sleep(0.05)
    return path.read_text().strip()


def heap_of(screen):
    m = re.search(r"^Heap: (\d+) B", screen, re.M)
    assert m, screen
    return int(m.group(1))


def rows(screen):
    """(own, total, allocs, location) of the table's rows."""
    found = []
    for line in screen.splitlines():
        m = re.match(r"^\s*(\S+)\s+(\S+)\s+(\d+)\s+(\S+) \(", line)
        if m and m.group(1) != "Own":
            found.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)))
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step(pid, screen, heap):
    """Send the next step's signal and wait for its heap."""
    os.kill(pid, signal.SIGUSR1)
    return screen.wait(r"Heap: %d B" % heap)


def start_live(tmp_path, fixtures, screens, *options, env=None, pidname="pid"):
    """`memray run --live [options] live_steps PIDFILE` in tmux, up to its first
    screen: the screen, the program's pid, and the heap it starts with (what
    the C library holds for the worker thread)."""
    prog = fixtures.build("live_steps.c")
    pidfile = tmp_path / pidname
    s = Screen(tmp_path, [MEMRAY, "run", "--live"] + list(options) + [prog, pidfile], env=env)
    screens.append(s)
    pid = int(wait_for_file(pidfile))
    return s, pid, heap_of(s.wait(r"main \("))


def test_run_live_shows_each_step(tmp_path, fixtures, screens):
    s, pid, base = start_live(tmp_path, fixtures, screens, "-o", "live.bin")

    screen = step(pid, s, base + MiB)
    assert ("1.000MiB", "1.000MiB", 256, "hold_small") in rows(screen)
    assert "Peak: %d B" % (base + MiB) in screen

    screen = step(pid, s, base + 3 * MiB)
    assert rows(screen)[:2] == [("2.000MiB", "2.000MiB", 2, "hold_big"), ("1.000MiB", "1.000MiB", 256, "hold_small")]
    s.keys("a")  # by allocations: the 256 small ones first
    screen = s.wait(r"Sort: allocations")
    assert [r[3] for r in rows(screen)[:2]] == ["hold_small", "hold_big"]
    s.keys("o")
    assert [r[3] for r in rows(s.wait(r"Sort: own"))[:2]] == ["hold_big", "hold_small"]

    # the thread selector: all, then main, then the worker
    s.keys(">")
    screen = s.wait(r"Thread 1/2: thread \d+ \(main\)")
    assert "hold_small" in screen and "hold_big" not in screen
    s.keys(">")
    screen = s.wait(r"Thread 2/2: thread \d+ \(worker\)")
    assert "hold_big" in screen and "hold_small" not in screen
    s.keys("<", "<")
    s.wait(r"Thread: all \(2\)")

    screen = step(pid, s, base)
    assert "Peak: %d B" % (base + 3 * MiB) in screen
    assert "hold_small" not in screen and "hold_big" not in screen

    os.kill(pid, signal.SIGUSR1)  # the program exits with status 3: said, and kept on screen
    s.wait(r"the program exited with status 3")
    time.sleep(1)
    screen = s.text()
    assert "the program exited with status 3" in screen and "[ended]" in screen
    s.keys("q")
    assert s.exit_status() == 3
    out = [p for p in tmp_path.iterdir() if p.name.startswith("memray-live_steps.")]
    assert len(out) == 1 and out[0].read_text() == "ready 0\nready 1\nready 2\nready 3\n"
    assert "the program's output is in %s; the capture in live.bin" % out[0].name in s.stderr.read_text()

    # the capture written while live is a whole capture every report reads
    data = stats(tmp_path / "live.bin")
    assert data["capture"]["complete"] is True
    assert data["metadata"]["peak_memory"] == base + 3 * MiB
    top = {e["location"]: (e["size"], e["count"]) for e in data["peak"]["top_by_size"]}
    assert top[location("hold_big", "live_steps.c", "big")] == (2 * MiB, 2)
    assert top[location("hold_small", "live_steps.c", "small")] == (MiB, 256)


def remote(tmp_path, prog, port, *args):
    """`memray run --live-remote --live-port PORT prog args` in the background."""
    return subprocess.Popen([str(MEMRAY), "run", "--live-remote", "--live-port", str(port), str(prog)] +
                            [str(a) for a in args], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=20):
    """The status and stderr of a background memray run, which must end in time."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("memray run did not end within %ds" % timeout)
    return proc.returncode, err


def test_live_remote_with_reader_started_first(tmp_path, fixtures, screens):
    prog = fixtures.build("live_steps.c")
    port, pidfile = free_port(), tmp_path / "pid"
    s = Screen(tmp_path, [MEMRAY, "live", "-o", "remote.bin", str(port)])
    screens.append(s)
    time.sleep(1)  # nobody listens yet: the reader waits
    assert s.stderr.read_text() == "memray: waiting for a program on 127.0.0.1:%d\n" % port
    proc = remote(tmp_path, prog, port, pidfile)
    pid = int(wait_for_file(pidfile))
    base = heap_of(s.wait(r"main \("))
    step(pid, s, base + MiB)
    for _ in range(3):
        os.kill(pid, signal.SIGUSR1)
        time.sleep(0.3)
    status, err = finish(proc)
    assert status == 3
    assert "waiting for a live reader on 127.0.0.1:%d: run 'memray live %d'" % (port, port) in err
    s.wait(r"the program ended")
    assert "[ended]" in s.text()
    s.keys("q")
    assert s.exit_status() == 0
    assert "wrote remote.bin" in s.stderr.read_text()
    data = stats(tmp_path / "remote.bin")
    assert data["capture"]["complete"] is True and data["metadata"]["peak_memory"] == base + 3 * MiB


def test_resize_redraws_the_view(tmp_path, fixtures, screens):
    s, pid, base = start_live(tmp_path, fixtures, screens)
    step(pid, s, base + MiB)
    lines = s.text().split("\n")
    assert lines[23].startswith("q quit") and "..." in s.text()  # 80 columns cut the file
    tmux("resize-window", "-t", s.name, "-x", "160", "-y", "40")
    screen = s.wait(r"hold_small \(/\S+/live_steps.c\)")  # room for the whole path now
    assert screen.split("\n")[39].startswith("q quit")
    tmux("resize-window", "-t", s.name, "-x", "50", "-y", "12")
    screen = s.wait(r"(?m)^Heap: %d B.*\n(.*\n){9}q quit" % (base + MiB), timeout=5)
    assert screen.split("\n")[11].startswith("q quit") and "Heap: %d B" % (base + MiB) in screen
    os.kill(pid, signal.SIGKILL)
    s.keys("q")
    assert s.exit_status() == 128 + 9


def test_colour_only_without_no_color(tmp_path, fixtures, screens):
    for no_color, expect in (("1", False), ("", True)):
        s, pid, _ = start_live(tmp_path, fixtures, screens, "-f", env={"NO_COLOR": no_color},
                               pidname="pid" + no_color)
        time.sleep(0.5)  # a sample or two for the chart
        coloured = re.search(r"\x1b\[3[0-7]m", s.text(escapes=True)) is not None
        assert coloured == expect, (no_color, s.text(escapes=True))
        os.kill(pid, signal.SIGKILL)
        s.keys("q")
        s.exit_status()


def test_program_killed_is_said_and_kept(tmp_path, fixtures, screens):
    s, pid, base = start_live(tmp_path, fixtures, screens)
    step(pid, s, base + MiB)
    os.kill(pid, signal.SIGKILL)
    screen = s.wait(r"killed by signal 9 \(SIGKILL\)")
    assert re.search(r"the program was killed by signal 9 \(SIGKILL\); live_steps: offset \d+: the capture ends "
                     r"without its END record \(the program was killed, exec'd an image memray cannot track, or tracking "
                     r"stopped early\) \(any word from the "
                     r"tracker is in memray-live_steps\.\d+\.out\)", flat(screen))
    assert "Heap: %d B" % (base + MiB) in screen  # what was live when it died stays
    time.sleep(0.5)
    assert "killed by signal 9" in s.text()
    s.keys("q")
    assert s.exit_status() == 128 + 9
    assert "the capture ends without its END record" in s.stderr.read_text()


def test_reader_killed_leaves_the_program_running(tmp_path, fixtures, screens):
    prog = fixtures.build("live_steps.c")
    port, pidfile = free_port(), tmp_path / "pid"
    proc = remote(tmp_path, prog, port, pidfile)
    s = Screen(tmp_path, [MEMRAY, "live", str(port)])
    screens.append(s)
    pid = int(wait_for_file(pidfile))
    s.wait(r"main \(")
    reader = pane_pid(s)
    subprocess.run(["pkill", "-KILL", "-P", str(reader), "-x", "memray"], check=True)
    for _ in range(4):
        time.sleep(0.3)
        os.kill(pid, signal.SIGUSR1)
    status, err = finish(proc)
    assert status == 3  # the program's own status, untouched
    said = [line for line in err.splitlines() if "tracking stopped" in line]
    assert said == ["memray: tracking stopped: the live reader went away; the rest of the run is not tracked"]


def test_reader_that_falls_behind_never_blocks_the_program(tmp_path, fixtures, screens):
    prog = fixtures.build("churn.c")
    port = free_port()
    # raw blocks: compressed ones are so small that the socket's own buffers would hold them all
    proc = subprocess.Popen([str(MEMRAY), "run", "--no-compress", "--live-remote", "--live-port", str(port),
                             str(prog), "30000000"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    s = Screen(tmp_path, [MEMRAY, "live", str(port)])
    screens.append(s)
    # the first screen, then stop the reader at once: churn frees each block, so its rows
    # come and go, and a reader left running long enough would see the program end
    s.wait(r"Heap: \d")
    reader = pane_pid(s)
    subprocess.run(["pkill", "-STOP", "-P", str(reader), "-x", "memray"], check=True)
    try:
        status, err = finish(proc, timeout=60)
    finally:
        subprocess.run(["pkill", "-KILL", "-P", str(reader), "-x", "memray"], check=False)
    assert status == 5
    said = [line for line in err.splitlines() if "tracking stopped" in line]
    assert len(said) == 1, err
    assert said[0] in ("memray: tracking stopped: the live reader fell behind by more than 32 MiB of records; "
                       "the rest of the run is not tracked",
                       "memray: tracking stopped: the live reader took nothing for 5 seconds; the rest of "
                       "the run is not tracked"), said


def pane_pid(s):
    """The pid of the shell in the window: memray is its child."""
    return int(tmux("list-panes", "-t", s.name, "-F", "#{pane_pid}").stdout.split()[0])


def test_port_in_use_is_one_line(tmp_path, fixtures):
    prog = fixtures.build("live_steps.c")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run("run", "--live-remote", "--live-port", port, prog, timeout=10)
    assert result.returncode == 1
    assert result.stderr == ("memray: error: cannot listen on 127.0.0.1:%d (another program uses that port; "
                             "choose another with --live-port): Address already in use\n" % port)


def test_no_program_to_read_is_one_line(tmp_path, screens):
    port = free_port()
    s = Screen(tmp_path, [MEMRAY, "live", str(port)])
    screens.append(s)
    assert s.exit_status(timeout=20) == 1
    assert s.stderr.read_text().splitlines() == [
        "memray: waiting for a program on 127.0.0.1:%d" % port,
        "memray: error: no program is waiting for a reader on 127.0.0.1:%d (start one with "
        "'memray run --live-remote --live-port %d PROGRAM')" % (port, port)]


@pytest.mark.parametrize("payload, said", [
    (b"GET / HTTP/1.1\r\n\r\n" + b"x" * 100, r"127.0.0.1:\d+: offset 0: not a memray capture"),
    (b"", r"127.0.0.1:\d+: offset 0: the stream ended after 0 bytes, before its file header had arrived"),
])
def test_a_stream_that_is_no_capture(tmp_path, screens, payload, said):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        s = Screen(tmp_path, [MEMRAY, "live", str(port)])
        screens.append(s)
        server.settimeout(10)
        conn, _ = server.accept()
        conn.sendall(payload)
        conn.close()
        s.wait(said, wrapped=True)
        s.keys("q")
        assert s.exit_status() == 0
        assert re.search(said, s.stderr.read_text())


def test_a_stream_cut_inside_a_block(tmp_path, fixtures, screens):
    capture = tmp_path / "whole.bin"
    prog = fixtures.build("blocks.c")
    assert run("run", "-q", "-o", capture, prog).returncode == 0
    data = capture.read_bytes()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        s = Screen(tmp_path, [MEMRAY, "live", "-o", "cut.bin", str(port)])
        screens.append(s)
        server.settimeout(10)
        conn, _ = server.accept()
        conn.sendall(data[:-7])
        conn.close()
        s.wait(r"the capture ends inside a block", wrapped=True)
        s.keys("q")
        assert s.exit_status() == 0
    assert (tmp_path / "cut.bin").read_bytes() == data[:-7]  # the tee holds what came


@pytest.mark.parametrize("args, said", [
    (["run", "--live", "--live-remote", "true"], "run: --live and --live-remote exclude each other"),
    (["run", "--live-port", "5000", "true"], "run: --live-port goes with --live-remote"),
    (["run", "--live-remote", "-o", "x.bin", "true"],
     "run: with --live-remote, -o belongs to the reader: 'memray live -o FILE PORT'"),
    (["run", "--live", "--follow-fork", "true"],
     "run: live mode follows one process as it runs: no --follow-fork or --aggregate"),
    (["run", "--live-remote", "--live-port", "http", "true"], "run: 'http' is not a port number (1-65535)"),
    (["run", "--live", "true"], "run: --live needs a terminal (stdin and stdout); use --live-remote and "
     "'memray live PORT'"),
    (["live"], "live: give one PORT (see 'memray live --help')"),
    (["live", "70000"], "live: '70000' is not a port number (1-65535)"),
    (["live", "5000"], "live: the live view needs a terminal (stdin and stdout)"),
])
def test_bad_usage_is_one_line(tmp_path, args, said):
    result = run(*args, cwd=tmp_path, timeout=10)
    assert result.returncode == 2, result
    assert result.stderr == "memray: error: %s\n" % said


def test_pause_freezes_the_view_and_resume_catches_up(tmp_path, fixtures, screens):
    s, pid, base = start_live(tmp_path, fixtures, screens)
    step(pid, s, base + MiB)
    s.keys("p")
    s.wait(r"\[paused\]")
    os.kill(pid, signal.SIGUSR1)  # 3 MiB now, but the view holds still
    wait_for_file_text(tmp_path, "ready 2")
    time.sleep(1)
    screen = s.text()
    assert "Heap: %d B" % (base + MiB) in screen and "hold_big" not in screen
    s.keys("p")
    screen = s.wait(r"Heap: %d B" % (base + 3 * MiB))
    assert "[running]" in screen and ("2.000MiB", "2.000MiB", 2, "hold_big") in rows(screen)
    os.kill(pid, signal.SIGKILL)
    s.keys("q")
    assert s.exit_status() == 128 + 9


def wait_for_file_text(tmp_path, text, timeout=15):
    """Wait for the program's output file (run --live) to hold text."""
    end = time.time() + timeout
    while True:
        outs = [p for p in tmp_path.iterdir() if p.name.startswith("memray-") and p.name.endswith(".out")]
        if outs and text in outs[0].read_text():
            return
        assert time.time() < end, "no %r in the program's output" % text
        time.sleep(0.05)


def test_python_frames_as_in_other_reports(tmp_path, screens):
    pidfile = tmp_path / "pid"
    script = FIXTURES / "live_steps.py"
    s = Screen(tmp_path, [MEMRAY, "run", "--live", "-o", "py.bin", script, pidfile], width=160)
    screens.append(s)
    pid = int(wait_for_file(pidfile, timeout=30))
    s.wait(r"\[running\]")
    os.kill(pid, signal.SIGUSR1)
    screen = s.wait(r"hold \(%s\)" % re.escape(str(script)))
    own, total, count, _ = [r for r in rows(screen) if r[3] == "hold"][0]
    assert (own, total, count) == ("3.000MiB", "3.000MiB", 3)
    os.kill(pid, signal.SIGUSR1)
    s.wait(r"the program exited with status 4")
    s.keys("q")
    assert s.exit_status() == 4
    # the capture names the same frames as the live view
    top = stats(tmp_path / "py.bin")["peak"]["top_by_size"]
    assert top[0]["location"] == "hold:%s:%d" % (script, line_of("live_steps.py", "pyhold"))
    assert (top[0]["size"], top[0]["count"]) == (3 * (MiB + 1), 3)  # a bytearray keeps a byte for its NUL


def test_exec_ends_the_live_view_in_one_line(tmp_path, fixtures, screens):
    prog = fixtures.build("live_steps.c")
    port, pidfile = free_port(), tmp_path / "pid"
    proc = remote(tmp_path, "/bin/sh", port, "-c", "exec %s %s" % (prog, pidfile))
    s = Screen(tmp_path, [MEMRAY, "live", str(port)])
    screens.append(s)
    pid = int(wait_for_file(pidfile))
    s.wait(r"the capture ends without its END record", wrapped=True)
    for _ in range(4):
        os.kill(pid, signal.SIGUSR1)
        time.sleep(0.2)
    status, err = finish(proc)
    assert status == 3  # the exec'd program ran on, untracked
    assert [line for line in err.splitlines() if "not tracking" in line] == [
        "memray: not tracking: live mode follows the first process image only, not one started by exec()"]
    s.keys("q")
    assert s.exit_status() == 0


def test_an_existing_capture_is_refused_before_any_program_is_reached(tmp_path, screens):
    (tmp_path / "exists.bin").write_text("mine")
    s = Screen(tmp_path, [MEMRAY, "live", "-o", "exists.bin", str(free_port())])
    screens.append(s)
    assert s.exit_status() == 1
    assert s.stderr.read_text() == ("memray: error: capture file 'exists.bin' already exists (use -f to "
                                    "overwrite it)\n")
    assert (tmp_path / "exists.bin").read_text() == "mine"


def test_names_reach_the_terminal_escaped(tmp_path, screens):
    pidfile = tmp_path / "pid"
    s = Screen(tmp_path, [MEMRAY, "run", "--live", FIXTURES / "live_hostile.py", pidfile], env={"NO_COLOR": "1"},
               width=160)
    screens.append(s)
    pid = int(wait_for_file(pidfile, timeout=30))
    screen = s.wait(r"evil")
    row = [line for line in screen.splitlines() if "evil" in line][0]
    assert "1.000MiB" in row and "evil\\x1b]0;pwned\\x07\\x1b[31mred (" in row, row
    raw = s.text(escapes=True)
    assert "pwned" in raw and "\x1b]0;" not in raw and "\x07" not in raw and "\x1b[31m" not in raw
    os.kill(pid, signal.SIGUSR1)
    s.wait(r"the program exited with status 0")
    s.keys("q")
    assert s.exit_status() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_reader_ended_by_signal_gives_the_terminal_back(tmp_path, fixtures, screens, sig):
    prog = fixtures.build("live_steps.c")
    port, pidfile, modes = free_port(), tmp_path / "pid", tmp_path / "stty"
    proc = remote(tmp_path, prog, port, pidfile)
    # the shell reads the terminal's modes once the reader is gone
    s = Screen(tmp_path, ["sh", "-c", '%s live -o sig.bin %d; status=$?; stty -a >%s; exit $status'
                          % (shlex.quote(str(MEMRAY)), port, shlex.quote(str(modes)))])
    screens.append(s)
    pid = int(wait_for_file(pidfile))
    base = heap_of(s.wait(r"main \("))
    step(pid, s, base + MiB)
    reader = subprocess.run(["pgrep", "-f", "-x", "%s live -o sig.bin %d" % (MEMRAY, port)],
                            capture_output=True, text=True, check=True).stdout.split()
    assert len(reader) == 1
    os.kill(int(reader[0]), sig)
    assert s.exit_status() == 128 + sig  # it dies of the signal, as sent
    said = wait_for_file(modes)
    assert re.search(r"(?<!-)icanon\b", said) and re.search(r"(?<!-)echo\b", said), said
    assert "wrote sig.bin" in s.stderr.read_text()
    assert "Heap:" not in s.text()  # the view's screen is gone
    for _ in range(3):
        os.kill(pid, signal.SIGUSR1)
        time.sleep(0.3)
    status, err = finish(proc)
    assert status == 3  # the program ends as it would have, untracked from the signal on
    data = stats(tmp_path / "sig.bin")
    assert data["metadata"]["peak_memory"] >= base + MiB


def test_a_view_whose_terminal_goes_away_ends(tmp_path, fixtures, screens):
    # the tmux server, a terminal window or an ssh link goes away: every read of the terminal fails at
    # once, and `run --live`, which hands the hang-up to the program, spun on the CPU for good
    s, pid, base = start_live(tmp_path, fixtures, screens)
    viewer = subprocess.run(["pgrep", "-x", "-f", "%s run --live %s %s" % (MEMRAY, fixtures.build("live_steps.c"),
                                                                          tmp_path / "pid")],
                            capture_output=True, text=True, check=True).stdout.split()
    assert len(viewer) == 1
    viewer = int(viewer[0])
    s.close()
    end = time.time() + 10
    while is_running(viewer):
        assert time.time() < end, "the view outlived its terminal"
        time.sleep(0.1)


def is_running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
