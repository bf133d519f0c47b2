"""The harness names the run's processes that outlived it (driver.left_running): found by the
run's topic prefix in their environment, zombies and other runs' processes left out."""

from pathlib import Path

from tools.faults.driver import left_running

MARK = "SWITCHBOARD_TOPIC_PREFIX=e2eabc123."


def process(proc: Path, pid: int, env: list[str], command: str, state: str = "S") -> None:
    d = proc / str(pid)
    d.mkdir()
    (d / "environ").write_bytes(b"\0".join(e.encode() for e in env) + b"\0")
    (d / "cmdline").write_bytes(command.replace(" ", "\0").encode() + b"\0")
    (d / "stat").write_text(f"{pid} (python) {state} 1 {pid}")


def test_only_the_runs_live_processes_are_named(tmp_path):
    process(tmp_path, 101, ["PATH=/bin", MARK], "python -c spawn_main()")
    process(tmp_path, 102, [MARK], "python worker", state="Z")
    process(tmp_path, 103, ["SWITCHBOARD_TOPIC_PREFIX=e2eother."], "python other run")
    process(tmp_path, 104, [f"X{MARK}"], "not the same variable")
    (tmp_path / "self").mkdir()
    assert left_running(MARK, tmp_path) == ["101 python -c spawn_main()"]


def test_none_when_nothing_outlived_the_run(tmp_path):
    process(tmp_path, 201, ["PATH=/bin"], "bash")
    assert left_running(MARK, tmp_path) == []
