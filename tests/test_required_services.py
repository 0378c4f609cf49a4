"""Where CI requires a service (.ci/run), a test that cannot reach it fails instead of skipping."""

import pytest
from helpers import REQUIRED_SERVICES, skip_unless_required


def test_a_missing_service_skips_outside_ci_and_fails_where_it_is_required(monkeypatch):
    monkeypatch.delenv(REQUIRED_SERVICES, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        skip_unless_required("browser", "no chromium")
    monkeypatch.setenv(REQUIRED_SERVICES, "slurm, browser")
    with pytest.raises(pytest.fail.Exception, match="browser is required here .* unavailable: no chromium"):
        skip_unless_required("browser", "no chromium")
    monkeypatch.setenv(REQUIRED_SERVICES, "slurm")
    with pytest.raises(pytest.skip.Exception):
        skip_unless_required("browser", "no chromium")


def test_ci_requires_both_services():
    from pathlib import Path

    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert f"export {REQUIRED_SERVICES}=slurm,browser" in ci
