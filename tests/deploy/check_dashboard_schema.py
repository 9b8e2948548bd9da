#!/usr/bin/env python3
"""Type-checks grafana/dashboards/*.json against Grafana's own schema: npm's
@grafana/schema (its `Dashboard` type), with `tsc`, both pinned in
tests/deploy/dashboard-schema/package-lock.json and installed there by `npm ci`
(node_modules/ is gitignored).

Each dashboard becomes `const dashboard: Json<Dashboard> = <the JSON>;`. `Json<T>` only
lets a JSON string stand for a TypeScript string enum member (JSON cannot spell enums);
everything else is the schema's: unknown fields, missing required fields and wrong types
are errors, reported with the dashboard's own file and line.

So that this check cannot pass by checking nothing, it first feeds tsc a copy of a
dashboard with a field the schema lacks and a variable whose `current` is `{}` (the two
faults Grafana's schema rejects in hand-written dashboards), and fails unless tsc reports
both.

Usage: tests/deploy/check_dashboard_schema.py   (needs node and npm on PATH)
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tests/deploy/dashboard-schema"
DASHBOARDS = sorted((ROOT / "grafana/dashboards").glob("*.json"))

PREAMBLE = """\
import type { Dashboard } from '@grafana/schema';
// JSON spells a string enum member as its value: accept the value where the schema has the enum.
type Json<T> = T extends string ? T | `${T}`
  : T extends number | boolean | null | undefined ? T
  : T extends ReadonlyArray<infer U> ? Array<Json<U>>
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T;
export const dashboard: Json<Dashboard> =
"""
PREAMBLE_LINES = PREAMBLE.count("\n")


def fail(message):
    raise SystemExit(f"dashboard schema: FAILED: {message}")


def install():
    """npm ci when the pinned versions are not what node_modules holds."""
    lock = json.loads((TOOLS / "package-lock.json").read_text(encoding="utf-8"))
    wanted = {name.removeprefix("node_modules/"): p["version"]
              for name, p in lock["packages"].items() if name.startswith("node_modules/")}
    have = {}
    for name in wanted:
        manifest = TOOLS / "node_modules" / name / "package.json"
        if manifest.exists():
            have[name] = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if have == wanted:
        return wanted
    if not shutil.which("npm"):
        fail("npm is not on PATH (Debian package npm); scripts/test.sh installs it")
    print(f"dashboard schema: npm ci {' '.join(f'{n}@{v}' for n, v in sorted(wanted.items()))}", flush=True)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                   cwd=TOOLS, check=True)
    return wanted


def tsc(sources):
    """Runs tsc over {name: text}; returns {name: [(line, message)]}."""
    with tempfile.TemporaryDirectory(prefix="dashboard-schema.") as tmp:
        folder = Path(tmp)
        for name, text in sources.items():
            (folder / f"{name}.ts").write_text(text, encoding="utf-8")
        schema = TOOLS / "node_modules/@grafana/schema/dist/types/index.d.ts"
        (folder / "tsconfig.json").write_text(json.dumps({
            "compilerOptions": {
                "strict": True, "noEmit": True, "target": "es2022", "module": "esnext",
                "moduleResolution": "bundler", "types": [], "skipLibCheck": False,
                "paths": {"@grafana/schema": [str(schema)]},
            },
            "files": [f"{name}.ts" for name in sources],
        }), encoding="utf-8")
        run = subprocess.run(["node", str(TOOLS / "node_modules/typescript/bin/tsc"), "-p", str(folder), "--pretty", "false"],
                             capture_output=True, text=True)
    errors = {name: [] for name in sources}
    for line in run.stdout.splitlines():
        m = re.match(r"^(?:.*/)?([^/]+)\.ts\((\d+),\d+\): (error .*)$", line)
        if m and m.group(1) in errors:
            errors[m.group(1)].append((int(m.group(2)) - PREAMBLE_LINES, m.group(3)))
        elif line.strip() and not line.startswith(" "):
            fail(f"tsc said something this check does not understand:\n{run.stdout}{run.stderr}")
    if run.returncode not in (0, 1, 2) or (run.returncode and not any(errors.values())):
        fail(f"tsc exited with {run.returncode}:\n{run.stdout}{run.stderr}")
    return errors


def canary(dashboard_text):
    """A dashboard with two faults the check must find."""
    d = json.loads(dashboard_text)
    d["templating"]["list"][0]["current"] = {}
    d["templating"]["list"][-1]["definition"] = "label_values(up, job)"
    return json.dumps(d, indent=2)


def main():
    versions = install()
    sources = {path.stem: PREAMBLE + path.read_text(encoding="utf-8") + ";\n" for path in DASHBOARDS}
    sources["canary"] = PREAMBLE + canary(DASHBOARDS[0].read_text(encoding="utf-8")) + ";\n"
    errors = tsc(sources)
    found = " ".join(message for _, message in errors.pop("canary"))
    if not re.search(r"definition\W+does not exist", found) or "text, value" not in found:
        fail(f"the canary's faults were not reported, so this check proves nothing: {found!r}")
    problems = [f"grafana/dashboards/{name}.json:{line}: {message}"
                for name, found in errors.items() for line, message in found]
    if problems:
        print("\n".join(f"  - {p}" for p in problems), file=sys.stderr)
        fail(f"{len(problems)} problem(s) against @grafana/schema {versions['@grafana/schema']}")
    print(f"dashboard schema: {len(DASHBOARDS)} dashboards valid against @grafana/schema "
          f"{versions['@grafana/schema']} (tsc {versions['typescript']})")


if __name__ == "__main__":
    main()
