"""Page faults per E3 training step (moved here from the tests: a count, not a behaviour).

fit() keeps freed memory in the process (figkit.dnn.keep_freed_memory): without
it, glibc gave the 4 MB gradient back to the OS and every step faulted pages in
again (here 170 to 1,800 page faults a step, and twice the training time; with
it, about 15, most of them building the network). Linux only (glibc's malloc).

    python benchmarks/page_faults.py [--steps 400]   # exit 1 above TARGET a step
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TARGET = 40  # page faults a step

PROBE = """
import resource, torch
from figkit import dnn
torch.set_num_threads(1)
dnn.fit(steps=5)  # imports and first allocations
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
dnn.fit(0, 0, dnn.WEIGHT_DECAY, steps={steps})
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / {steps})
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    steps = parser.parse_args(argv).steps
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(steps=steps)],
        cwd=SCRIPTS,
        capture_output=True,
        text=True,
        check=True,
    )
    faults = float(done.stdout)
    print(f"E3 training: {faults:.1f} page faults a step (target < {TARGET})")
    return 0 if faults < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
