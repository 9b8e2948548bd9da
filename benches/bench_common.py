"""What every benchmark script shares: where cargo builds, the machine a run is on, and
splicing a script's section into benches/RESULTS.md. Standard library only."""

import json
import os
import platform
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def target_directory():
    """Where cargo builds: CARGO_TARGET_DIR (benches/run.sh exports it), else what cargo
    itself says (a .cargo/config.toml's target-dir, or the workspace's target/)."""
    if os.environ.get("CARGO_TARGET_DIR"):
        return os.path.abspath(os.environ["CARGO_TARGET_DIR"])
    metadata = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                              cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(metadata)["target_directory"]


TARGET = target_directory()
# This tree's release build: `cargo build --release --bins`.
RELEASE = os.path.join(TARGET, "release")


def write_figures(results, out, name):
    """Writes a script's figures as JSON to `out`, or where benches/results.py reads them:
    bench-results/NAME.json in the target folder."""
    path = out or os.path.join(TARGET, "bench-results", f"{name}.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=2)


def machine():
    """CPU, cores, memory, kernel, compiler and commit, for the reader of the figures."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        memory = int(f.readline().split()[1]) * 1024
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return (f"{model}, {os.cpu_count()} cores, {memory / 2**30:.0f} GiB, "
            f"Linux {platform.release()}; {rustc}; commit {commit}")


def splice(path, section, start, end):
    """Puts `section` (which begins with `start` and ends with `end`) in place of the one
    between those markers in `path`, or at its end."""
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    if start in text:
        before = text[:text.index(start)]
        after = text[text.index(end) + len(end):].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)
