"""`make bench`: run every benchmarks/bench_*.py module's ``run()`` and print one table.

Each module exposes ``run() -> list[Row]``. Timings are ratios measured in one run (ours vs a reference,
alternating), because these machines are shared and noisy; nothing here is asserted in the test suite.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Row  # noqa: E402


def main(selected: list[str]) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    package = Path(__file__).resolve().parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(package)]) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    rows: list[tuple[str, Row]] = []
    for name in names:
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            rows += [(name.removeprefix("bench_"), row) for row in module.run()]
        except Exception as error:  # one broken benchmark is a failed row, not a lost table
            traceback.print_exc()
            failed = Row(f"{name} did not run", float("nan"), "", "runs", False, f"{type(error).__name__}: {error}")
            rows.append((name.removeprefix("bench_"), failed))
        print(f"  {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print(f"\nNext-Token Explorer benchmarks on {os.cpu_count()} cores ({time.strftime('%Y-%m-%d %H:%M')})\n")
    header = f"| {'benchmark':<10} | {'measure':<62} | {'value':>12} | {'target':<10} | ok |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for group, row in rows:
        ok = "" if row.passed is None else ("yes" if row.passed else "NO")
        value = f"{row.value:,.3f} {row.unit}".strip()
        print(f"| {group:<10} | {row.name:<62} | {value:>12} | {row.target:<10} | {ok:<2} |")
        if row.note:
            print(f"|            |   {row.note[:60]:<60} |              |            |    |")
    return 1 if any(row.passed is False and row.target == "runs" for _, row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
