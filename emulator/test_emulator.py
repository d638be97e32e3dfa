"""Runs all the emulator's tests: one start of the five servers (harness.py), then every test_* function of
test_layers.py (the realistic layer, counters, fidelity fixes, clock), test_policy.py (the policy evaluator, pure, and
/sts-lab/decide) and test_auth.py (IAM authorization over HTTP), in that order, printing `ok name (x s)` or `FAILED
name: …` for each and `N passed, M failed in T s`. Run: .lab/venv/bin/python emulator/test_emulator.py (or pytest
emulator/, conftest.py starting the servers once).
"""

import sys
import time

import harness
import test_auth
import test_layers
import test_policy

MODULES = (test_layers, test_policy, test_auth)


def main():
    tests = [(n, f) for module in MODULES for n, f in vars(module).items() if n.startswith("test_") and callable(f)]
    started, failed = time.time(), 0
    try:
        harness.start_servers()
        for name, test in tests:
            t = time.time()
            try:
                test()
                print(f"ok      {name} ({time.time() - t:.1f} s)")
            except Exception as e:  # report every test, not only the first failure
                failed += 1
                print(f"FAILED  {name}: {type(e).__name__}: {e}")
    finally:
        harness.stop_servers()
    print(f"{len(tests) - failed} passed, {failed} failed in {time.time() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
