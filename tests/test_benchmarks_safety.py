"""The benchmarks never fill a disk unasked and leave nothing behind: part 3 of beyond_memory.py (a file as large as
asked) runs only when asked, refuses more than half of the free space, and a run stopped by SIGTERM or SIGINT
while its probe reads the map removes its folder and its probe; a run killed outright still takes the probe with it.
distributed_speed.py runs in a tiny configuration, and stopped while its cluster runs leaves no worker and no file.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
import beyond_memory  # noqa: E402
import cleanup  # noqa: E402

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "beyond_memory.py"
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if k not in (beyond_memory.SIZE_VARIABLE, "CHAINRULE_BENCH_PROBE_HOLD")}
    return {**env, **extra}


def benchmark(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, str(SCRIPT), "--quick", "--rounds", "1", *args], capture_output=True,
                          text=True, timeout=120, env=env or environment(), **kwargs)


def state(pid):
    """The process's state letter from /proc (``"Z"``: a zombie), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid):
    return state(pid) not in (None, "Z")


def children(pid):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds} s")


def probe_reading(run, folder):
    """The child of ``run`` that has part 3's file mapped."""
    def find():
        for child in children(run.pid):
            try:
                if str(folder) in Path(f"/proc/{child}/maps").read_text():
                    return child
            except OSError:
                pass
        assert run.poll() is None, f"the benchmark ended first:\n{Path(folder.parent / 'log').read_text()}"
    return wait_until(find, 90, "probe with the file mapped")


def start_with_probe_held(tmp_path):
    """beyond_memory.py with a 4 MB part 3 whose probe holds the map for a minute (in its own session, so that the
    test can kill whatever is left); returns (process, --dir, the probe's pid)."""
    folder = tmp_path / "bench"
    folder.mkdir()
    log = open(tmp_path / "log", "w")
    run = subprocess.Popen([sys.executable, str(SCRIPT), "--quick", "--rounds", "1", "--dir", str(folder),
                            "--beyond-memory", "4M"], stdout=log, stderr=subprocess.STDOUT,
                           env=environment(CHAINRULE_BENCH_PROBE_HOLD="60"), start_new_session=True)
    log.close()
    try:
        return run, folder, probe_reading(run, folder)
    except BaseException:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        raise


def test_part_3_writes_nothing_unless_asked(tmp_path):
    assert beyond_memory.parse_size("30G") == 30 * 10**9
    assert beyond_memory.parse_size("500M") == 500 * 10**6
    assert beyond_memory.parse_size("1.5GiB") == 3 * 2**29
    assert beyond_memory.parse_size("4000000") == 4_000_000
    assert beyond_memory.parse_size("auto") == "auto"
    with pytest.raises(ValueError, match="expected a size such as 30G.*found '12x'"):
        beyond_memory.parse_size("12x")
    done = benchmark("--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "map larger than memory: skipped" in done.stdout and "--beyond-memory SIZE" in done.stdout
    assert "RssAnon" not in done.stdout
    assert list(tmp_path.iterdir()) == []          # part 2's file and the folder are gone too


def test_more_than_half_the_free_space_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"30.00 GB is more than half of the 40.00 GB free on the disk: the most "
                                         r"this benchmark writes is 20.00 GB"):
        beyond_memory.beyond_memory_bytes(30 * 10**9, 40 * 10**9, 8 * 10**9)
    with pytest.raises(ValueError, match="more than half"):   # auto: 1.1 x the available memory, under the same cap
        beyond_memory.beyond_memory_bytes("auto", 10 * 10**9, 8 * 10**9)
    assert beyond_memory.beyond_memory_bytes("auto", 100 * 10**9, 8 * 10**9) == 8.8e9
    assert beyond_memory.beyond_memory_bytes(4_000_000, 10**9, 8 * 10**9) == 4_000_000
    with pytest.raises(ValueError, match="cannot hold one row"):
        beyond_memory.beyond_memory_bytes(100, 10**9, 8 * 10**9)
    for args, env in ((["--beyond-memory", "1000T"], environment()),
                      ([], environment(CHAINRULE_BENCH_BEYOND_MEMORY="1000T"))):
        done = benchmark("--dir", str(tmp_path), *args, env=env)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert "1000T (--dir" in done.stderr and "is more than half of the" in done.stderr
        assert done.stdout == "" and list(tmp_path.iterdir()) == []     # refused before anything ran


def test_a_temporary_folder_goes_however_its_block_ends(tmp_path):
    with pytest.raises(RuntimeError):
        with cleanup.temporary_folder(tmp_path) as folder:
            (folder / "f").write_bytes(b"x")
            raise RuntimeError
    with cleanup.temporary_folder(tmp_path) as folder:
        assert folder.parent == tmp_path and folder.name.startswith("chainrule-bench-")
    assert list(tmp_path.iterdir()) == []


@linux_only
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_run_removes_its_files_and_its_probe(tmp_path, signum):
    run, folder, probe = start_with_probe_held(tmp_path)
    try:
        assert list(folder.iterdir())                  # the benchmark's folder, with part 3's file in it
        run.send_signal(signum)
        assert run.wait(timeout=30) == 128 + signum
        log = (tmp_path / "log").read_text()
        assert f"stopped by {signum.name}" in log and "Traceback" not in log
        assert list(folder.iterdir()) == []
        wait_until(lambda: not alive(probe), 10, "end of the probe")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        if alive(probe):
            os.kill(probe, signal.SIGKILL)


@linux_only
def test_the_probe_dies_with_a_killed_run(tmp_path):
    run, folder, probe = start_with_probe_held(tmp_path)
    try:
        run.kill()                                     # no cleanup can run: the probe must not outlive it
        run.wait(timeout=30)
        wait_until(lambda: not alive(probe), 10, "end of the probe")
    finally:
        if alive(probe):
            os.kill(probe, signal.SIGKILL)
        if run.poll() is None:
            run.kill()
            run.wait()


def descendants(pid):
    """The processes below ``pid``, children and theirs."""
    found = children(pid)
    return found + [grandchild for child in found for grandchild in descendants(child)]


def test_the_cluster_benchmark_runs_in_a_tiny_configuration_and_leaves_nothing(tmp_path):
    """distributed_speed.py --quick: one tiny network on local clusters of 1 and 2 workers, to the end, with nothing
    left in its temporary folder (the times themselves are not checked: they depend on the machine)."""
    done = subprocess.run([sys.executable, str(SCRIPT.parent / "distributed_speed.py"), "--quick", "--steps", "1",
                           "--rounds", "1"],
                          capture_output=True, text=True, timeout=180, env=environment(TMPDIR=str(tmp_path)))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    row = next(line for line in lines if line.split()[:2] == ["1,009", "100"])
    assert "100+100" in row and row.endswith("16 kB / 32 kB")          # each worker holds half; 2 x 8 x P x W
    assert any(line.startswith("One synchronous mini-batch step") for line in lines)
    assert any("W* = sqrt(c N B / 16)" in line for line in lines) and "32 -> 64" in done.stdout
    assert list(tmp_path.iterdir()) == []


@linux_only
def test_a_stopped_cluster_benchmark_leaves_no_worker_and_no_folder(tmp_path):
    """distributed_speed.py stopped (SIGTERM) while its first Dask cluster runs: it exits with 143, its worker
    processes end, and the folder that held their scratch files is gone (clusters start and close with signals
    held, so none is left half made to write into it afterwards)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    log = open(tmp_path / "log", "w")
    run = subprocess.Popen([sys.executable, str(SCRIPT.parent / "distributed_speed.py"), "--quick", "--steps", "1",
                           "--rounds", "1"],
                           stdout=log, stderr=subprocess.STDOUT, env=environment(TMPDIR=str(temporary)),
                           start_new_session=True)
    log.close()
    workers = []
    try:
        wait_until(lambda: list(temporary.glob("chainrule-bench-*/dask-scratch-space/worker-*")), 90,
                   "a worker's scratch folder")
        workers = descendants(run.pid)
        assert workers
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 128 + signal.SIGTERM
        output = (tmp_path / "log").read_text()
        assert "stopped by SIGTERM" in output and "Traceback" not in output
        wait_until(lambda: not any(alive(pid) for pid in workers), 10, "end of the workers")
        assert not list(temporary.glob("chainrule-bench-*"))
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_readme_states_what_make_bench_writes():
    """The README's size of the temporary map is the benchmark's own: 60,000 rows of 784 features and a label."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    megabytes = round(60_000 * beyond_memory.ROW_BYTES / 1e6)
    assert f"(a {megabytes} MB temporary file)" in readme
    assert "make bench BEYOND_MEMORY=30G" in readme and beyond_memory.SIZE_VARIABLE in readme
