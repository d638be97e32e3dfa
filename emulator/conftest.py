"""pytest's setup for the emulator's tests (`pytest emulator/`; `cargo test` runs each test file so): the servers
harness.py starts when a test first asks for one, stopped after the session's last test."""

import harness
import pytest


@pytest.fixture(scope="session", autouse=True)
def servers():
    """The emulators the tests talk to (harness.CONFIGS), each on a port of its own, started on first use."""
    yield harness.SERVERS
    harness.stop_servers()
