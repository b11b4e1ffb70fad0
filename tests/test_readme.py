"""The README's first two commands: install-and-run, and install-and-test (which CI runs)."""

import re

from conftest import ROOT


def fenced_blocks():
    return re.findall(r"```(?:sh)?\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_starts_with_two_one_line_commands():
    run, test = fenced_blocks()[:2]
    assert len(run.strip().splitlines()) == 1 and len(test.strip().splitlines()) == 1
    assert "requirements.txt" in run and "pytest" in test


def test_ci_runs_exactly_the_readme_test_command():
    test = fenced_blocks()[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == test
