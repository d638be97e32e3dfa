"""pytest's setup for the emulator's tests (`pytest emulator/`, which `cargo test` runs too): the servers harness.py
starts, a fixture of the whole session: started once before the first test, stopped after the last."""

import harness
import pytest


@pytest.fixture(scope="session", autouse=True)
def servers():
    """The five emulators the tests talk to (harness.CONFIGS), each on a port of its own."""
    harness.start_servers()
    yield harness.SERVERS
    harness.stop_servers()
