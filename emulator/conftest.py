"""pytest's setup for the emulator's tests (pytest emulator/): harness.py's five servers, started once for the session."""

import harness
import pytest


@pytest.fixture(scope="session", autouse=True)
def servers():
    harness.start_servers()
    yield
    harness.stop_servers()
