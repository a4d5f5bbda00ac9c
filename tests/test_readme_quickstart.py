"""The README's two quick-start commands and CI's test command must not drift apart."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    found = dict(re.findall(r"<!-- quickstart:(\w+) -->\s*```(?:bash|sh)?\n(.+?)\n```", text, flags=re.S))
    return {name: command.strip() for name, command in found.items()}


def test_readme_has_exactly_two_quickstart_commands():
    commands = _readme_commands()
    assert set(commands) == {"app", "tests"}
    for command in commands.values():
        assert "\n" not in command, "each quick-start step is a single command line"


def test_ci_runs_the_readme_test_command_verbatim():
    ci_script = (ROOT / ".ci" / "run").read_text()
    match = re.search(r"^TEST_COMMAND='(.+)'$", ci_script, flags=re.M)
    assert match, ".ci/run must define TEST_COMMAND='...'"
    assert match.group(1) == _readme_commands()["tests"]


def test_app_command_installs_runtime_requirements_and_starts_app():
    command = _readme_commands()["app"]
    assert "requirements.txt" in command and "app.py" in command


def test_torch_pinned_to_the_local_cpu_build():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert "torch==2.13.0" in requirements
