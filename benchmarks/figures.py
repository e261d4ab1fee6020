"""Benchmark of the figures pipeline (issue #3); `make bench` runs it.

Everything runs in a scratch copy of the repository, so the working tree's
figures and caches are left alone. It measures, on this machine, in one run:

  a. cold: the figures stage from an empty figures/ (no stamps, no memo);
  a'. the same with the pipeline of an earlier commit (--baseline, default the
     one before talkbuild/figures/ replaced the home-made fork server), checked
     out with `git archive` into a second scratch folder;
  b. no-op: `python build.py` when nothing has changed;
  c. slide edit: `python build.py` after one slide changed;
  d. the training lower bound and the measured E3 loop, from
     benchmarks/training_bound.py (FLOPs / measured matmul throughput);
  e. naive: `python scripts/<name>.py` for every script, one after another,
     from an empty figures/ and cache, each script on its own: with
     FIGKIT_MEMO=process a script trains every network it needs itself, as it
     would with no build around it (a network is not retrained within a script);
  e'. with --shared-memo, the same loop with the build's disk memo
     (FIGKIT_MEMO=disk), so a later script loads the networks an earlier one
     trained: not the target's baseline, but it tells the gain from sharing
     networks apart from the gain from running in parallel.

Targets: a <= 0.55 x e; a <= a'; the E3 loop <= 1.5 x its bound; b, c < 0.5 s.
The machine is shared and timings are noisy: each measurement is repeated and
its median is what the targets are checked against (--cold-repeats for a and a',
alternated, which take two minutes each; --naive-repeats for e, five minutes each;
--quick-repeats for b and c).

Results go to build/bench/figures.json and are printed as a table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SKIP = (".git", ".venv", "node_modules", "figures", "build", "__pycache__", ".pytest_cache")

# The figures stage alone, in a fresh interpreter, as the build runs it.
STAGE = (
    "import sys; from pathlib import Path; from talkbuild.figures import regenerate; "
    "sys.exit(1 if regenerate(Path('.'), force={force}) else 0)"
)
# The same, for the baseline commit's pipeline (talkbuild/figures.py, its own API).
BASELINE_STAGE = (
    "import sys; from pathlib import Path; from talkbuild.figures import regenerate; "
    "sys.exit(1 if regenerate(Path('scripts'), Path('figures'), force=False) else 0)"
)
BASELINE = "1725fbb9fa6598ef7b3f83e67d00c75bb8023ea4"  # main before talkbuild/figures/

COLD_RATIO = 0.55  # a <= 0.55 x e
TRAINING_RATIO = 1.5  # E3 loop <= 1.5 x its lower bound
QUICK_SECONDS = 0.5  # b and c


def scratch_copy(into: Path) -> Path:
    """The repository's inputs, without generated files; node_modules linked, not copied."""
    copy = into / "repo"

    def ignore(folder: str, names: list[str]) -> set[str]:  # figures/ at the top only
        skip = SKIP if Path(folder) == REPO else ("__pycache__", ".pytest_cache")
        return set(names) & set(skip)

    shutil.copytree(REPO, copy, ignore=ignore, symlinks=True)
    if (REPO / "node_modules").exists():
        (copy / "node_modules").symlink_to(REPO / "node_modules")
    return copy


def timed(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, int, str]:
    """Wall seconds, exit status and the last lines of output of one command."""
    start = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
    return seconds, done.returncode, tail


def empty_figures(copy: Path) -> None:
    shutil.rmtree(copy / "figures", ignore_errors=True)


def scripts_in(copy: Path) -> list[Path]:
    return sorted(p for p in (copy / "scripts").glob("*.py") if not p.name.startswith("_"))


def output_digests(copy: Path) -> dict[str, str]:
    """SHA-256 of every figure and results file (figures/*, not the stamps or the cache)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((copy / "figures").glob("*"))
        if p.is_file() and p.name != "stamps.json"
    }


def baseline_copy(into: Path, commit: str) -> Path:
    """The repository at `commit` (git archive), for its figures pipeline."""
    copy = into / "baseline"
    copy.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(copy)], input=archive.stdout, check=True)
    return copy


def compare_outputs(runs: dict[str, list[dict]]) -> dict:
    """Are the figures byte-identical across repeats and across ways of running them?"""
    digests = [
        (f"{mode} #{i + 1}", run["digests"])
        for mode, rs in runs.items()
        for i, run in enumerate(rs)
    ]
    reference_name, reference = digests[0]
    differing = {}
    for name, other in digests[1:]:
        files = sorted(f for f in set(reference) | set(other) if reference.get(f) != other.get(f))
        if files:
            differing[f"{reference_name} vs {name}"] = files
    return {"identical": not differing, "files": len(reference), "differing": differing}


def summary(samples: list[float]) -> dict:
    return {
        "median_s": round(statistics.median(samples), 3) if samples else None,
        "samples_s": [round(s, 3) for s in samples],
    }


def naive(copy: Path, memo: str) -> dict:
    """e (memo "process") or e' ("disk"): each script once, serially, from an empty
    figures dir and cache."""
    empty_figures(copy)
    per_script, failed = {}, []
    for script in scripts_in(copy):
        seconds, code, tail = timed(
            [PYTHON, str(script.relative_to(copy))], copy, {"FIGKIT_MEMO": memo}
        )
        per_script[script.stem] = round(seconds, 3)
        if code:
            failed.append({"script": script.stem, "exit": code, "tail": tail})
    return {
        "seconds": sum(per_script.values()),
        "scripts": per_script,
        "failed": failed,
        "digests": output_digests(copy),
    }


def cold(copy: Path, baseline: bool = False) -> dict:
    """a (or a' for the baseline): the figures stage from an empty figures dir, no stamps,
    no memo."""
    empty_figures(copy)
    stage = BASELINE_STAGE if baseline else STAGE.format(force=False)
    seconds, code, tail = timed([PYTHON, "-c", stage], copy)
    try:
        if baseline:
            stamps = json.loads((copy / "figures" / ".cache" / "stamps.json").read_text())
            durations = {name: s["duration"] for name, s in stamps["scripts"].items()}
        else:
            durations = json.loads((copy / "figures" / ".cache" / "durations.json").read_text())
    except OSError:
        durations = {}
    return {
        "seconds": seconds,
        "exit": code,
        "scripts": durations,
        "digests": output_digests(copy),
        **({"tail": tail} if code else {}),
    }


def build_command(copy: Path) -> tuple[list[str], str]:
    if (copy / "build.py").exists():
        return [PYTHON, "build.py"], "python build.py"
    return [PYTHON, "-c", STAGE.format(force=False)], "figures stage only (no build.py yet)"


def quick(copy: Path, repeats: int, edit_slide: bool) -> dict:
    """b (edit_slide False) or c (True): median of `repeats` builds after a full one."""
    command, what = build_command(copy)
    _, code, tail = timed(command, copy)  # brings figures and deck up to date
    slides = copy / "slides" / "talk.md"
    if edit_slide and not slides.exists():
        return {"what": what, "skipped": "slides/talk.md does not exist yet"}
    samples, codes = [], set()
    for i in range(repeats):
        if edit_slide:  # a new comment at the end of the last slide: new bytes, same figures
            with open(slides, "a", encoding="utf-8") as fh:
                fh.write(f"\n<!-- benchmark edit {i} -->\n")
        seconds, code, tail = timed(command, copy)
        samples.append(seconds)
        codes.add(code)
    result = {"what": what, **summary(samples), "exit": sorted(codes)}
    if codes != {0}:
        result["tail"] = tail
    return result


def training_bound(copy: Path) -> dict:
    """d: benchmarks/training_bound.py's JSON (lower bound and measured E3 loop)."""
    script = copy / "benchmarks" / "training_bound.py"
    if not script.exists():
        return {"skipped": "benchmarks/training_bound.py does not exist yet"}
    start = time.perf_counter()
    done = subprocess.run(
        [PYTHON, str(script.relative_to(copy))],
        cwd=copy,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        return {"exit": done.returncode, "tail": tail}
    return {"seconds": round(seconds, 3), "report": _last_json(done.stdout)}


def _last_json(text: str):
    """The last JSON document printed: the whole output, or its last line that parses."""
    try:
        return json.loads(text)
    except ValueError:
        for line in reversed(text.strip().splitlines()):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return {"unparsed": text[-2000:]}


def e3_ratio(report) -> tuple[float | None, float | None]:
    """(measured E3 loop seconds, its lower bound) from training_bound.py's report."""
    if not isinstance(report, dict):
        return None, None
    return report.get("loop_seconds"), report.get("bound_seconds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold-repeats", type=int, default=3, help="repeats of a and a'")
    parser.add_argument("--naive-repeats", type=int, default=1, help="repeats of e (and e')")
    parser.add_argument("--quick-repeats", type=int, default=7, help="repeats of b and c")
    parser.add_argument("--skip-cold", action="store_true", help="only b, c and d")
    parser.add_argument(
        "--baseline", default=BASELINE, help="the commit of a' (default: %(default)s)"
    )
    parser.add_argument("--shared-memo", action="store_true", help="also e' (the shared memo)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "bench" / "figures.json")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill: clean up like Ctrl-C

    results: dict = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": os.getloadavg(),
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as tmp:
        copy = scratch_copy(Path(tmp))
        results["scripts"] = [s.stem for s in scripts_in(copy)]
        if not args.skip_cold:
            old = baseline_copy(Path(tmp), args.baseline)
            results["baseline"] = args.baseline
            runs = {"naive": [], "cold": [], "baseline": []}
            runs |= {"naive_shared": []} if args.shared_memo else {}
            rounds = max(args.cold_repeats, args.naive_repeats)
            for i in range(rounds):  # interleaved, so load drifts hit all alike
                print(f"bench: cold round {i + 1}/{rounds}", file=sys.stderr)
                if i < args.naive_repeats:
                    runs["naive"].append(naive(copy, "process"))
                    if args.shared_memo:
                        runs["naive_shared"].append(naive(copy, "disk"))
                if i < args.cold_repeats:  # a and a' take turns going first
                    for mode in ("cold", "baseline")[:: 1 if i % 2 == 0 else -1]:
                        runs[mode].append(
                            cold(old, baseline=True) if mode == "baseline" else cold(copy)
                        )
            for key, mode in (
                ("e_naive", "naive"),
                ("e_naive_shared", "naive_shared"),
                ("a_cold", "cold"),
                ("a_cold_baseline", "baseline"),
            ):
                if mode in runs:
                    results[key] = {
                        **summary([r["seconds"] for r in runs[mode]]),
                        "runs": runs[mode],
                    }
            results["reproducible"] = compare_outputs(runs)
            for mode_runs in runs.values():
                for run in mode_runs:
                    del run["digests"]
        print("bench: no-op and slide-edit builds", file=sys.stderr)
        results["b_noop"] = quick(copy, args.quick_repeats, edit_slide=False)
        results["c_slide_edit"] = quick(copy, args.quick_repeats, edit_slide=True)
        print("bench: training lower bound", file=sys.stderr)
        results["d_training"] = training_bound(copy)
    results["machine"]["load_after"] = os.getloadavg()
    results["targets"] = targets(results)
    results["ratios"] = ratios(results)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nwritten to {args.out}")
    return 0


def targets(r: dict) -> dict:
    out = {}
    a, e = r.get("a_cold", {}).get("median_s"), r.get("e_naive", {}).get("median_s")
    if a and e:
        out["a <= 0.55 e"] = {
            "value": round(a / e, 3),
            "limit": COLD_RATIO,
            "met": a / e <= COLD_RATIO,
        }
    old = r.get("a_cold_baseline", {}).get("median_s")
    if a and old:
        out["a <= a'"] = {"value": round(a / old, 3), "limit": 1.0, "met": a <= old}
    for key, name in (("b_noop", "b < 0.5 s"), ("c_slide_edit", "c < 0.5 s")):
        median = r.get(key, {}).get("median_s")
        if median is not None:
            out[name] = {"value": median, "limit": QUICK_SECONDS, "met": median < QUICK_SECONDS}
    measured, bound = e3_ratio(r.get("d_training", {}).get("report"))
    if measured and bound:
        out["E3 loop <= 1.5 bound"] = {
            "value": round(measured / bound, 3),
            "limit": TRAINING_RATIO,
            "met": measured / bound <= TRAINING_RATIO,
        }
    return out


def ratios(r: dict) -> dict:
    """The cold figures against both naive loops, and what sharing alone saves."""
    a, e, shared = (
        r.get(key, {}).get("median_s") for key in ("a_cold", "e_naive", "e_naive_shared")
    )
    out = {}
    if a and e:
        out["a / e"] = round(a / e, 3)
    if a and shared:
        out["a / e' (shared memo, not the target)"] = round(a / shared, 3)
    if e and shared:
        out["e' / e (what sharing alone saves)"] = round(shared / e, 3)
    return out


def table(r: dict) -> str:
    rows = [("measurement", "median", "samples")]
    names = (
        ("a_cold", "a. cold, this pipeline"),
        ("a_cold_baseline", "a'. cold, baseline pipeline"),
        ("b_noop", "b. no-op build"),
        ("c_slide_edit", "c. slide-edit build"),
        ("e_naive", "e. naive serial loop"),
        ("e_naive_shared", "e'. naive loop, shared memo"),
    )
    for key, label in names:
        entry = r.get(key)
        if not entry:
            continue
        if "skipped" in entry:
            rows.append((label, "-", entry["skipped"]))
            continue
        rows.append(
            (
                label,
                f"{entry['median_s']:.3f} s",
                " ".join(f"{s:.2f}" for s in entry["samples_s"])
                + (f"  [{entry['what']}]" if "what" in entry else ""),
            )
        )
    d = r.get("d_training", {})
    measured, bound = e3_ratio(d.get("report"))
    if measured and bound:
        rows.append(
            (
                "d. E3 lower bound",
                f"{bound:.3f} s",
                f"{d['report'].get('flops_total', 0) / 1e9:.0f} GFLOP at "
                f"{d['report'].get('matmul_gflops', 0):.0f} GFLOP/s + optimizer steps",
            )
        )
        rows.append(("d. E3 training loop", f"{measured:.3f} s", "dnn.fit, 4000 steps"))
    elif "report" in d:
        rows.append(("d. training bound", "", json.dumps(d["report"])[:120]))
    else:
        rows.append(("d. training bound", "-", d.get("skipped") or f"failed: {d.get('tail', '')}"))
    cores = d.get("report", {}).get("parallel") if isinstance(d.get("report"), dict) else None
    if cores:
        rows.append(
            (
                "d. E3 on 2 cores",
                f"{cores['two_processes_speedup']:.2f}x",
                "two trainings side by side, 1 thread each, vs one alone",
            )
        )
        rows.append(
            ("", f"{cores['two_threads_speedup']:.2f}x", "one training on 2 threads vs 1 thread")
        )
    for name, value in r.get("ratios", {}).items():
        rows.append((name, f"{value}", ""))
    same = r.get("reproducible")
    if same:
        rows.append(
            (
                "figures byte-identical",
                "yes" if same["identical"] else "NO",
                f"{same['files']} files, every run of a, a' and e"
                + ("" if same["identical"] else f": {same['differing']}"),
            )
        )
    for name, t in r.get("targets", {}).items():
        rows.append((f"target {name}", f"{t['value']}", "met" if t["met"] else "NOT MET"))
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    return "\n".join(f"{a:<{width[0]}}  {b:>{width[1]}}  {c}" for a, b, c in rows)


if __name__ == "__main__":
    sys.exit(main())
