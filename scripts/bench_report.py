"""The report: docs/benchmarks.md (markdown tables) and docs/benchmarks.svg (a plain SVG chart).

``write_report`` turns the results of one run into the page and the chart; it
measures nothing and starts nothing, so it can be fed synthetic results.  It
checks the targets (``TARGETS``) and, for each one missed, says why it can be
missed (``MISSED_CAUSES``, from profiling).  Every comparison is a ratio against
minitestdb measured in the same run.  ``svg_chart`` draws horizontal bars (the
median) with min-max whiskers, without a plotting library.
"""

from __future__ import annotations

import argparse
import datetime
import html
import os
import statistics
from typing import Any, Dict, List, Tuple

from bench_cold_start import COLD_TOOLS, CONTRACT_TOOLS, cold_phases
from bench_common import DASH, PG_BIN, TEST_BODY_SECONDS, TIMES, WARM_NAME, ChildResult, Stat, fmt_mb, fmt_range, fmt_ratio, fmt_s, pct
from bench_footprint import IMPORTS
from bench_per_test import PER_TEST, Batch

TARGETS = {
    "cold_vs_tc": 0.4,  # cold start (`start()`) at most 0.4x testcontainers' on the same image
    "cold_abs": 0.6,  # seconds, median, `start()`
    "warm": 0.1,  # seconds
    "vs_migrations": 10.0,
    "vs_janitor": 2.0,
    "pool_ms": 2.0,
    "import_ms": 30.0,
    "teardown": 0.3,  # seconds, median, close() of a private server on any image
    "schema": 0.03,  # seconds, median set-up + teardown of the schema mode
    "pool_p50": 0.001,  # seconds, a test's wait for its clone under pytest-xdist
    "pool_p95": 0.005,
    "rss_mb": 25.0,  # peak RSS of a test process
}

CHART_LABELS = {
    "mtdb_start": "minitestdb start()",
    "mtdb_init": "minitestdb start(), initdb",
    "mtdb_up": "minitestdb up (CLI)",
    "tc": "testcontainers",
    "pp": "pytest-postgresql (host pg_ctl)",
    "tp": "testing.postgresql (host binaries)",
    "clone": "minitestdb clone(), no pool",
    "clone_wait": "minitestdb clone(), drop waited",
    "pool": "minitestdb clone() from the pool",
    "schema": "minitestdb schema(), no pool",
    "schema_pool": "minitestdb schema() from the pool",
    "janitor": "pytest-postgresql janitor",
    "migrate": "re-run migrations (psql -f)",
}

# Why a target can miss, from profiling (see the sections below for this run's phases).
MISSED_CAUSES = {
    "cold start": (
        "Cold start: see the phase table in section 1. From the start-up snapshot, `start()` spends about 0.1 s in the interpreter, "
        "its imports and one `image inspect` each for the image and its snapshot, about 0.2 s in `docker run` (create and start), and "
        "about 0.15-0.2 s in the container (copying the initialized cluster to the tmpfs, setting the password in single-user mode, "
        "the server's start); what remains is docker's own create and start, then PostgreSQL's start."
    ),
    "pool under pytest-xdist": (
        "The pool under pytest-xdist: the obstacle is the server's throughput, not the pool. Every test costs the server a "
        "clone (`CREATE DATABASE ... FILE_COPY` of the 10 MB template: 15 ms, with two checkpoints) and a drop (6.5 ms), so this "
        "2-core machine, which also runs the test processes, makes and drops about 75 databases a second, while two workers of "
        "10 ms tests ask for about 150 and four for about 300. A pool only moves the work ahead in time; the next steps are less "
        "work per test (a clone reused when its test wrote nothing, which needs a reliable way to know that), or more cores for "
        "the server (the same suite on a larger machine is the measurement to make)."
    ),
    "re-running the migrations": (
        "A database per test without the pool: a clone is `CREATE DATABASE ... STRATEGY FILE_COPY`, which copies the "
        "template's files and takes two checkpoints, 17-20 ms here for 30 tables and 60 indexes (`WAL_LOG` measured slower, "
        "21-25 ms); the teardown is queued to the template's worker (`drop(wait=False)`). The default (`pool=2`) hands over "
        "a clone made in the background while the previous test ran: 0.1 ms per test."
    ),
}


def per_test_stats(batches: List[Batch]) -> Dict[str, Stat]:
    return {
        "cycle": Stat([statistics.median(b.cycle) for b in batches]),
        "cycle_p95": Stat([pct(b.cycle, 0.95) for b in batches]),
        "acquire": Stat([statistics.median(b.acquire) for b in batches]),
        "acquire_p95": Stat([pct(b.acquire, 0.95) for b in batches]),
        "release": Stat([statistics.median(b.release) for b in batches]),
        "total": Stat([sum(b.cycle) for b in batches]),
    }


def svg_chart(panels: List[Dict[str, Any]], width: int = 900) -> str:
    """Horizontal bar charts: the median as a bar, min-max as a whisker, the ratio as text."""
    label_w, value_w, pad = 250, 150, 16
    plot_w = width - label_w - value_w - 2 * pad
    row_h, bar_h = 30, 16
    parts: List[str] = []
    y = pad
    for panel in panels:
        rows = panel["rows"]
        top = max(r["hi"] for r in rows) * 1.05
        step = _nice_step(top / 5)
        ticks = [i * step for i in range(int(top / step) + 1)]
        scale = plot_w / (ticks[-1] if ticks[-1] >= top else top)
        parts.append(f'<text x="{pad}" y="{y + 16}" class="title">{html.escape(panel["title"])}</text>')
        parts.append(f'<text x="{pad}" y="{y + 34}" class="sub">{html.escape(panel["subtitle"])}</text>')
        y += 48
        x0 = pad + label_w
        body_h = row_h * len(rows)
        for t in ticks:
            x = x0 + t * scale
            parts.append(f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x:.1f}" y2="{y + body_h}" class="grid"/>')
            parts.append(f'<text x="{x:.1f}" y="{y + body_h + 14}" class="tick" text-anchor="middle">{html.escape(panel["tick"](t))}</text>')
        for r in rows:
            cy = y + row_h / 2
            w = max(1.0, r["median"] * scale)
            cls = "mtdb" if r["mtdb"] else "peer"
            parts.append(f'<text x="{x0 - 8}" y="{cy + 4:.1f}" class="label" text-anchor="end">{html.escape(r["label"])}</text>')
            parts.append(f'<rect x="{x0}" y="{cy - bar_h / 2:.1f}" width="{w:.1f}" height="{bar_h}" class="{cls}"><title>{html.escape(r["title"])}</title></rect>')
            lo, hi = x0 + r["lo"] * scale, x0 + r["hi"] * scale
            parts.append(f'<line x1="{lo:.1f}" y1="{cy:.1f}" x2="{hi:.1f}" y2="{cy:.1f}" class="whisker"/>')
            for x in (lo, hi):
                parts.append(f'<line x1="{x:.1f}" y1="{cy - 5:.1f}" x2="{x:.1f}" y2="{cy + 5:.1f}" class="whisker"/>')
            parts.append(f'<text x="{x0 + plot_w + 10}" y="{cy + 4:.1f}" class="value">{html.escape(r["text"])}</text>')
            y += row_h
        y += 34
    legend_x = width - pad - 250
    parts.append(f'<rect x="{legend_x}" y="{pad + 5}" width="12" height="12" class="mtdb"/><text x="{legend_x + 17}" y="{pad + 15}" class="sub">minitestdb</text>')
    parts.append(f'<rect x="{legend_x + 100}" y="{pad + 5}" width="12" height="12" class="peer"/><text x="{legend_x + 117}" y="{pad + 15}" class="sub">peers</text>')
    height = y
    style = (
        "text{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;fill:#1f2328}"
        ".title{font-size:16px;font-weight:600}.sub{font-size:12px;fill:#57606a}"
        ".label{font-size:12.5px}.value{font-size:12.5px;font-variant-numeric:tabular-nums}.tick{font-size:11px;fill:#57606a}"
        ".grid{stroke:#d0d7de;stroke-width:1}.mtdb{fill:#1f6feb}.peer{fill:#8c959f}.whisker{stroke:#24292f;stroke-width:1.2}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">\n'
        f"<title>minitestdb benchmarks</title>\n<style>{style}</style>\n"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>\n' + "\n".join(parts) + "\n</svg>\n"
    )


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    exp = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= raw:
            return m * exp
    return 10 * exp


def tick_seconds(t: float) -> str:
    return "0" if t == 0 else (f"{t:g} s" if t >= 1 else f"{t * 1000:g} ms")


def tick_ms(t: float) -> str:
    return "0" if t == 0 else f"{t * 1000:g} ms"


def write_report(
    *,
    args: argparse.Namespace, image: str, venv: str, bench_user: str | None, runuser_s: float, facts: Dict[str, str],
    cold: Dict[str, List[ChildResult]], contract: Dict[str, List[ChildResult]], contract_image: str, warm: List[float], per_test: Dict[str, List[Batch]], builds: Tuple[float, float],
    imports: Dict[str, Any], memory: Dict[str, List[int]], teardown: Dict[str, List[float]], pool_xdist: List[Dict[str, Any]],
    runtime: float, started: datetime.datetime, problems: List[str], command: str,
) -> Tuple[str, str]:
    """The markdown page and the SVG chart of one run.

    *args* gives the repeat counts (``cold``, ``warm``, ``batches``, ``tests``, ``imports``);
    *image* and *venv* are those of the run; *bench_user* the user the local-binary peers
    ran as (None: not root), *runuser_s* what ``runuser`` adds to a process; *builds* the
    single builds of minitestdb's template and of the janitor's, in seconds.
    """
    cold_ready = {tool: Stat([r.ready for r in res]) for tool, res in cold.items()}
    cold_total = {tool: Stat([r.total for r in res]) for tool, res in cold.items()}
    warm_s = Stat(warm)
    pts = {m: per_test_stats(b) for m, b in per_test.items()}
    imp_diff = {k: Stat(v) for k, v in imports["diff"].items()}
    imp_in = {k: Stat(v) for k, v in imports["inproc"].items()}
    passes = {k: Stat(v) for k, v in imports["pass"].items()}
    cold_rss = {tool: Stat([r.result["rss_kb"] for r in res]) for tool, res in cold.items() if res and "rss_kb" in res[0].result}
    mem = {k: Stat(v) for k, v in memory.items()}
    janitor_rss_values = [b.rss_kb for b in per_test["janitor"] if b.rss_kb]
    base_cold = cold_ready["mtdb_start"].median
    base_pt = pts["clone"]["cycle"].median
    n_tests = args.tests

    # Targets: (what, measured, met).
    targets: List[Tuple[str, str, bool]] = []
    contract_ready = {tool: Stat([r.ready for r in res]) for tool, res in contract.items()}
    for where, ready in ((image, cold_ready), (contract_image, contract_ready)):
        mine, tc = ready["mtdb_start"].median, ready["tc"].median
        versus = f"{fmt_s(mine)} vs {fmt_s(tc)} ({mine / tc:.2f}{TIMES})"
        targets.append((f"cold start <= {TARGETS['cold_vs_tc']}{TIMES} testcontainers (`start()`, `{where}`)", versus, mine <= TARGETS["cold_vs_tc"] * tc))
        targets.append((f"cold start <= {TARGETS['cold_abs']} s median (`start()`, `{where}`)", fmt_s(mine), mine <= TARGETS["cold_abs"]))
    targets.append((f"warm `up` <= {TARGETS['warm'] * 1000:.0f} ms", fmt_s(warm_s.median), warm_s.median <= TARGETS["warm"]))
    for peer, what, factor in (("migrate", "re-running the migrations", TARGETS["vs_migrations"]), ("janitor", "the janitor", TARGETS["vs_janitor"])):
        for mine, how in (("clone", "clone, no pool"), ("clone_wait", "clone, no pool, waited drop"), ("pool", "from the pool")):
            ratio = pts[peer]["cycle"].median / pts[mine]["cycle"].median
            targets.append((f"per-test database >= {factor:.0f}{TIMES} faster than {what} ({how})", f"{ratio:.2f}{TIMES}", ratio >= factor))
    pool_ms = pts["pool"]["acquire"].median * 1000
    targets.append((f"`clone()` from the pool < {TARGETS['pool_ms']:.0f} ms median", fmt_s(pool_ms / 1000), pool_ms < TARGETS["pool_ms"]))
    tear = {key: Stat(values) for key, values in teardown.items()}
    for key, what in (("a_now", "`minitestdb/postgres-test:15`"), ("b_now", "an image whose PID 1 passes no signal on")):
        targets.append((f"teardown of a private server <= {TARGETS['teardown']} s median ({what})", fmt_s(tear[key].median), tear[key].median <= TARGETS["teardown"]))
    schema_s = pts["schema_pool"]["cycle"].median
    targets.append((f"schema mode <= {TARGETS['schema'] * 1000:.0f} ms per test median (set-up + teardown, the default pool)", fmt_s(schema_s), schema_s <= TARGETS["schema"]))
    for row in pool_xdist:
        if row["workers"] in (2, 4):
            p50, p95 = statistics.median(row["waits"]), pct(row["waits"], 0.95)
            ok = p50 <= TARGETS["pool_p50"] and p95 <= TARGETS["pool_p95"] and row["built"] == 1
            targets.append((f"pool under pytest-xdist `-n {row['workers']}`: wait p50 <= {TARGETS['pool_p50'] * 1000:.0f} ms, p95 <= {TARGETS['pool_p95'] * 1000:.0f} ms, template built once",
                            f"p50 {fmt_s(p50)}, p95 {fmt_s(p95)}, built {row['built']}", ok))
    rss = mem["mtdb_attach_clone"].median
    targets.append((f"a test process <= {TARGETS['rss_mb']:.0f} MB peak RSS (attach + template + clone + query)", fmt_mb(rss), rss / 1024 <= TARGETS["rss_mb"]))
    for key, where in (("mtdb", "this interpreter"), ("mtdb_plain", "a plain interpreter (the venv's, no `.pth` imports)")):
        whole, inside = imp_diff[key].median, imp_in[key].median
        targets.append((f"`import minitestdb` < {TARGETS['import_ms']:.0f} ms, {where}", f"{fmt_s(whole)} (whole process; {fmt_s(inside)} in-process)", whole * 1000 < TARGETS["import_ms"]))

    md: List[str] = []
    w = md.append
    w("# Benchmarks")
    w("")
    w("minitestdb against its peers on one machine, with the same image, the same schema and the same work, measured in one run of")
    w("")
    w("```sh")
    w(command)
    w("```")
    w("")
    w(f"on {started:%Y-%m-%d %H:%M} UTC ({runtime / 60:.1f} min). The machine is shared and noisy: compare the ratios, which were measured")
    w("side by side (runs of the tools interleaved), rather than the absolute times. Every figure is the median of several runs, with their min and max;")
    w("ratios are the tool's median divided by minitestdb's (above 1: slower than minitestdb).")
    w("")
    w("![cold start and per-test database](benchmarks.svg)")
    w("")
    w("## Headline")
    w("")
    w(f"| measurement | tool | median | min {DASH} max | ÷ minitestdb |")
    w("| --- | --- | ---: | ---: | ---: |")
    for tool, label in COLD_TOOLS:
        s = cold_ready[tool]
        w(f"| cold start → first `select 1` (new process, n={s.n}) | {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, base_cold)} |")
    for tool, label in CONTRACT_TOOLS:
        s = contract_ready[tool]
        w(f"| cold start, official entrypoint image (n={s.n}) | {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, contract_ready['mtdb_start'].median)} |")
    w(f"| warm attach: `up` while the server runs (whole process, n={warm_s.n}) | minitestdb `python -m minitestdb up` | {fmt_s(warm_s.median)} | {fmt_range(warm_s)} | {DASH} |")
    for m, label in PER_TEST:
        s = pts[m]["cycle"]
        batches = f"{s.n} batch{'es' if s.n != 1 else ''}"
        w(f"| database per test: set-up + teardown, median of {n_tests} tests ({batches}) | {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, base_pt)} |")
    for key, label, _ in IMPORTS:
        s = imp_diff[key]
        w(f"| import (`-c IMPORT` minus `-c pass`, n={s.n}) | {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, imp_diff['mtdb'].median)} |")
    m = mem["mtdb_attach_clone"]
    w(f"| peak RSS of a test process (n={m.n}) | minitestdb: attach + template + clone + query | {fmt_mb(m.median)} | {fmt_range(m, fmt_mb)} | 1.00{TIMES} |")
    for tool, label in COLD_TOOLS:
        if tool in cold_rss and tool != "mtdb_up":
            s = cold_rss[tool]
            w(f"| peak RSS of a test process (n={s.n}) | {label}: start + first query | {fmt_mb(s.median)} | {fmt_range(s, fmt_mb)} | {fmt_ratio(s.median, m.median)} |")
    if janitor_rss_values:
        janitor_rss = Stat(janitor_rss_values)
        jr = janitor_rss
        w(f"| peak RSS of a test process (n={jr.n}) | pytest-postgresql janitor: {n_tests} databases | {fmt_mb(jr.median)} | {fmt_range(jr, fmt_mb)} | {fmt_ratio(jr.median, m.median)} |")
    w("")
    w("## Targets")
    w("")
    w("Per-test ratios compare the set-up + teardown medians (the teardown is a `DROP DATABASE` for all but the schema mode); the pool target is")
    w("the `clone()` call alone. Cold-start ratios compare medians of the time to the first query.")
    w("")
    w("| target | measured | |")
    w("| --- | --- | --- |")
    for text, value, ok in targets:
        w(f"| {text} | {value} | {'met' if ok else '**missed**'} |")
    w("")
    missed = [text for text, _value, ok in targets if not ok]
    if missed:
        w("### What is left")
        w("")
        for text in missed:
            w(f"- Missed in this run: {text}.")
        w("")
        for key, cause in MISSED_CAUSES.items():
            if any(key in text for text in missed):
                w(cause)
                w("")

    w("## 1. Cold start")
    w("")
    w("A new process until its first successful `select 1` on a new server, the image present, after one discarded warm-up round of every tool")
    w("(the first containers after a pause start slower, which would otherwise land on whichever tool goes first). The time runs from spawning the process")
    w("to the line it prints after the query (interpreter start-up and imports included); `up` is timed as a whole process (it prints the URL after its own")
    w("`select 1`, and psql then checks the URL, untimed). The phases are measured inside the process; \"process\" is the time until it exited, teardown")
    w("included.")
    w("")
    w(f"| tool | to first query | min {DASH} max | ÷ `start()` | interpreter + imports | server start | first query | process incl. teardown |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tool, label in COLD_TOOLS:
        s = cold_ready[tool]
        phases = [DASH, DASH, DASH]
        if cold[tool] and cold[tool][0].ready_info:
            info = [r.ready_info for r in cold[tool]]
            before = statistics.median(r.ready - r.ready_info["start"] - r.ready_info["query"] for r in cold[tool])
            phases = [fmt_s(before), fmt_s(statistics.median(i["start"] for i in info)), fmt_s(statistics.median(i["query"] for i in info))]
        w(f"| {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, base_cold)} | {' | '.join(phases)} | {fmt_s(cold_total[tool].median)} |")
    w("")
    w(f"The same on `{contract_image}`, an image minitestdb does not build: the official docker-library entrypoint (15/bookworm, unchanged; ")
    w("`scripts/official-entrypoint-image`) on Debian's PostgreSQL 15 packages, with a setpriv-based `gosu`. Only the container tools apply.")
    w("")
    w(f"| tool | to first query | min {DASH} max | ÷ `start()` |")
    w("| --- | ---: | ---: | ---: |")
    for tool, label in CONTRACT_TOOLS:
        s = contract_ready[tool]
        w(f"| {label} | {fmt_s(s.median)} | {fmt_range(s)} | {fmt_ratio(s.median, contract_ready['mtdb_start'].median)} |")
    w("")
    w("Where minitestdb's cold start goes (medians per phase; wall-clock marks of `server.diagnostics` and the container's timestamped log;")
    w("the time before the process runs Python, about 20 ms, is not in any phase):")
    w("")
    phase_rows = [(image, "`start()`", cold["mtdb_start"]), (image, "`start()`, initdb", cold["mtdb_init"]),
                  (contract_image, "`start()`", contract["mtdb_start"]), (contract_image, "`start()`, initdb", contract["mtdb_init"])]
    names: List[str] = []
    per_row = []
    for where, how, results in phase_rows:
        phases = [cold_phases(r.ready_info) for r in results if r.ready_info.get("marks")]
        for phase in phases:
            names += [n for n in phase if n not in names]
        per_row.append((where, how, phases, Stat([r.ready for r in results])))
    w("| image | tool | " + " | ".join(names) + " | to first query |")
    w("| --- | --- | " + " | ".join("---:" for _ in names) + " | ---: |")
    for where, how, phases, ready in per_row:
        cells = [fmt_s(statistics.median(p[n] for p in phases)) if phases and all(n in p for p in phases) else DASH for n in names]
        w(f"| `{where}` | {how} | " + " | ".join(cells) + f" | {fmt_s(ready.median)} |")
    w("")
    w("Settings as each tool ships them: minitestdb runs the data directory on a tmpfs with `fsync`, `synchronous_commit` and `full_page_writes` off;")
    w("testcontainers runs the image's defaults (durable); pytest-postgresql and testing.postgresql run the host's PostgreSQL "
      f"({facts['host_pg']}) with `-F` (fsync off) on a data directory under `/tmp` (disk). ")
    if bench_user:
        w(f"The local-binary peers run as the unprivileged user `{bench_user}` through `runuser` (PostgreSQL refuses to run as root); runuser adds about "
          f"{fmt_s(runuser_s)} to their times. ")
    w("testcontainers runs with `TESTCONTAINERS_RYUK_DISABLED=true` (its reaper image cannot be pulled here). The interpreters differ in start-up: ")
    w(f"minitestdb's (`-c pass`) {fmt_s(passes['mtdb'].median)}, the venv's {fmt_s(passes['tc'].median)} (see section 4), which is in these times.")
    w("")
    w("## 2. Warm attach")
    w("")
    w(f"`python -m minitestdb up --name {WARM_NAME}` while that server runs, as a whole process: median {fmt_s(warm_s.median)} "
      f"({fmt_range(warm_s)}, n={warm_s.n}). Of that, the interpreter's own start-up (`-c pass`) is {fmt_s(passes['mtdb'].median)} here.")
    w("")
    w(f"## 3. A migrated database per test ({n_tests} tests, 30 tables)")
    w("")
    w(f"Each method gives {n_tests} tests, one after the other, their own database migrated with 30 files (a table, two indexes and 100 rows each),")
    w(f"on the same server (the shared `{WARM_NAME}` container). Set-up is the time a test waits for its database; teardown drops it. Each test")
    w(f"body sleeps {TEST_BODY_SECONDS * 1000:.0f} ms (not counted), the time a short test gives the pool to refill. Medians and p95 are per batch of {n_tests};")
    w(f"the table shows the median over {len(per_test['clone'])} batches with min {DASH} max; the total is set-up + teardown summed over the {n_tests} tests.")
    w("")
    w(f"| method | set-up + teardown median | min {DASH} max | p95 | set-up median | set-up p95 | teardown median | total for {n_tests} | ÷ `clone()` |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m_, label in PER_TEST:
        s = pts[m_]
        w(f"| {label} | {fmt_s(s['cycle'].median)} | {fmt_range(s['cycle'])} | {fmt_s(s['cycle_p95'].median)} | {fmt_s(s['acquire'].median)} | "
          f"{fmt_s(s['acquire_p95'].median)} | {fmt_s(s['release'].median)} | {fmt_s(s['total'].median)} ({fmt_range(s['total'])}) | {fmt_ratio(s['cycle'].median, base_pt)} |")
    w("")
    hits = [b.hits for b in per_test["pool"] if b.hits is not None]
    w(f"- The pool served {', '.join(str(h) for h in hits)} of {n_tests} clones per batch; the rest were created on the spot (they make the p95).")
    hits = [b.hits for b in per_test["schema_pool"] if b.hits is not None]
    w(f"- The schema pool served {', '.join(str(h) for h in hits)} of {n_tests} schemas per batch (each batch's first schema is migrated and captured:")
    w("  a replay takes about 40 ms of the server's time, longer than a test body here, so the pool sometimes runs dry).")
    w("- minitestdb keeps one admin connection per process; the janitor opens a new psycopg connection for each `init()` and `drop()` and runs,")
    w("  per test, `pg_terminate_backend` on the template, `CREATE DATABASE ... TEMPLATE`, then `ALTER DATABASE ... allow_connections false`, another")
    w("  `pg_terminate_backend` and `DROP DATABASE`. Its template was built by its own `init()` (`as_template=True`) and `load()` of the same 30 files.")
    w("- Re-running the migrations: `CREATE DATABASE` over an open connection, one `psql -X -q -v ON_ERROR_STOP=1 -f ...` process with the 30 files,")
    w("  `DROP DATABASE ... WITH (FORCE)`.")
    w(f"- For context, single builds (n=1): minitestdb's template {fmt_s(builds[0])}, the janitor's template {fmt_s(builds[1])}.")
    w("")
    w("## 4. Import time and memory")
    w("")
    w(f"| import | whole process (`-c IMPORT` - `-c pass`) | min {DASH} max | in-process (`perf_counter` around the import) | min {DASH} max | `-c pass` alone |")
    w("| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [(key, f"{label}: `{code}`") for key, label, code in IMPORTS]
    rows.insert(1, ("mtdb_nosite", "minitestdb, `python -S` (no `.pth` file of site-packages has imported anything first)"))
    rows.insert(2, ("mtdb_plain", "minitestdb on a plain interpreter (the venv's: no `.pth` imports at start-up)"))
    rows.insert(3, ("mtdb_nocache", "minitestdb without cached bytecode (`PYTHONDONTWRITEBYTECODE=1`, as this environment sets it)"))
    for key, label in rows:
        w(f"| {label} | {fmt_s(imp_diff[key].median)} | {fmt_range(imp_diff[key])} | {fmt_s(imp_in[key].median)} | {fmt_range(imp_in[key])} | {fmt_s(passes[key].median)} |")
    w("")
    w("minitestdb runs from bytecode compiled once into a temporary `PYTHONPYCACHEPREFIX` (the checkout stays clean), as an installed package and")
    w("the peers (compiled by pip) do. `.pth` files in an interpreter's site-packages run at start-up and may import modules (this interpreter's")
    w("import `certifi` and through it `importlib.resources`, `pathlib`, `tempfile`...); those are then free for the import measured after them,")
    w("hence the `-S` row, closer to a plain interpreter. The whole-process figures are differences of two noisy process times (they can come out")
    w("negative); the in-process figures are steadier.")
    w("")
    w("The slowest imports under `import minitestdb` (`python -S -X importtime`, cumulative, median of 5; `-X importtime` itself slows imports down):")
    w("")
    w("| module | cumulative | self |")
    w("| --- | ---: | ---: |")
    for name, self_us, cum_us in imports["profile"][:15]:
        w(f"| `{name.strip()}` | {cum_us / 1000:.1f} ms | {self_us / 1000:.1f} ms |")
    w("")
    w("Peak RSS is the process's own high-water mark (`VmHWM` in `/proc/self/status`, read at its end; children such as the docker CLI, psql or")
    w("pg_ctl are not counted). Not `ru_maxrss`: on Linux a child's `ru_maxrss` starts at the peak of the process that spawned it (it survives")
    w(f"fork and exec), so every child of this script would report at least this script's own peak. A bare interpreter: "
      f"{fmt_mb(mem['pass_mtdb'].median)} (minitestdb's), {fmt_mb(mem['pass_venv'].median)} (the venv's).")
    w("")
    w("## 5. Teardown")
    w("")
    w("`Server.close()` of a ready private server (the server started untimed), against what it did before (`docker stop --time 5` with the")
    w("container's stop signal, then `docker rm --force`), interleaved. (b) is built from the test image with a PID 1 that runs the entrypoint")
    w("as a child and passes no signal on (`sh -c 'docker-entrypoint.sh \"$@\"; :'`, as an `su`-based entrypoint does): a stop waits its whole grace there.")
    w("")
    w(f"| image | `close()` now: `docker rm --force` | min {DASH} max | before: stop + rm | min {DASH} max |")
    w("| --- | ---: | ---: | ---: | ---: |")
    for prefix, what in (("a", "(a) `minitestdb/postgres-test:15`"), ("b", "(b) PID 1 passes no signal on")):
        now, before_ = tear[f"{prefix}_now"], tear[f"{prefix}_before"]
        w(f"| {what} | {fmt_s(now.median)} | {fmt_range(now)} | {fmt_s(before_.median)} | {fmt_range(before_)} |")
    w("")
    w("## 6. The pool under pytest-xdist")
    w("")
    w("A generated project of 200 tests that each take `minitestdb_database` and sleep 10 ms, run with `pytest -n 0`, `-n 2` and `-n 4` on a")
    w("private server of its own, each run building its own template (`scripts/bench_pool_xdist.py`). The wait is the set-up of")
    w("`minitestdb_database` (the clone the test waits for); pooled: clones taken from the pool, on the spot: made while the test waited.")
    w("")
    w("| `-n` | pool | wait p50 | wait p95 | max | pooled | on the spot | refills | templates built | wall |")
    w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in pool_xdist:
        waits = row["waits"]
        w(f"| {row['workers']} | {row['pool']} | {fmt_s(statistics.median(waits))} | {fmt_s(pct(waits, 0.95))} | {fmt_s(max(waits))} | {row['pooled']} | "
          f"{row['on_the_spot']} | {row['refills']} | {row['built']} | {fmt_s(row['wall'])} |")
    w("")
    w("## Machine and versions")
    w("")
    w(f"- Machine: {facts['machine']}; load average at the start {facts['load_start']}, at the end {facts['load']}")
    w(f"- Docker: {facts['docker']}; image {facts['image']}, PostgreSQL {facts['server_version']}")
    w(f"- minitestdb {facts['minitestdb']}, on {facts['python_mtdb']}")
    w(f"- Peers, in the venv `{venv}`: {facts['peers']}, on {facts['python_venv']}")
    w(f"- Host PostgreSQL for the local-binary peers: {facts['host_pg']} in `{PG_BIN}`")
    w(f"- Repeats: cold start {args.cold}, warm attach {args.warm}, per-test batches {args.batches} of {n_tests} tests, imports {args.imports}")
    if problems:
        w("")
        w("Clean-up notes from this run:")
        for p in problems:
            w(f"- {p}")
    w("")

    # The chart.
    cold_rows = []
    for tool, _label in COLD_TOOLS:
        s = cold_ready[tool]
        cold_rows.append({"label": CHART_LABELS[tool], "median": s.median, "lo": s.lo, "hi": s.hi, "mtdb": tool.startswith("mtdb"),
                          "text": f"{fmt_s(s.median)} · {fmt_ratio(s.median, base_cold)}", "title": f"{fmt_s(s.median)} (min {fmt_s(s.lo)}, max {fmt_s(s.hi)})"})
    pt_rows = []
    for m_, _label in PER_TEST:
        s = pts[m_]["cycle"]
        pt_rows.append({"label": CHART_LABELS[m_], "median": s.median, "lo": s.lo, "hi": s.hi, "mtdb": m_ in ("clone", "clone_wait", "pool", "schema", "schema_pool"),
                        "text": f"{fmt_s(s.median)} · {fmt_ratio(s.median, base_pt)}", "title": f"{fmt_s(s.median)} (min {fmt_s(s.lo)}, max {fmt_s(s.hi)})"})
    svg = svg_chart([
        {"title": "Cold start: new process → first select 1 on a new server",
         "subtitle": f"median of {args.cold} run{'s' if args.cold != 1 else ''}, whiskers min{DASH}max, ratio to minitestdb start(); {started:%Y-%m-%d}, {os.cpu_count()} cores, image {image}",
         "rows": cold_rows, "tick": tick_seconds},
        {"title": "A migrated database per test (30 tables): set-up + teardown",
         "subtitle": f"median per test over {n_tests} tests, median of {args.batches} batch{'es' if args.batches != 1 else ''}, whiskers min{DASH}max, ratio to minitestdb clone() without pool",
         "rows": pt_rows, "tick": tick_ms},
    ])
    return "\n".join(md), svg
