"""Every claim of ``experiments.claims`` decided by ``simlab.verdict.decide`` from ``results/``.

    python -m experiments.verdicts [--root DIR] [--check] [--json]

Writes ``docs/verdicts.md`` (one row per claim: claim | paper value | simlab value ± interval,
with conditions | verdict), ``results/verdicts.json`` and the generated blocks of README.md and
docs/*.md (between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->``): NAME
``claims`` (claims per paper and verdict), ``verdicts:<experiment>`` (one line per claim of it) or
``table:<experiment>:<function>`` (``experiments.<experiment>.<function>(ds)`` on its results) or
``timing:<stem>,<stem>,...`` (what those runs cost, from ``results/timing/``: ``experiments._timing``)
or ``lm_plan`` (the LM experiments' budget plan, ``python -m experiments._lm``) or
``file:results/<path>`` (a file a script wrote under results/, e.g. a benchmark's table).

``--check`` writes nothing and exits 1 when any of these disagrees with ``results/``: docs/verdicts.md,
results/verdicts.json, a generated block, a results file whose checksum does not hold, or a committed
figure (figures/*.png) whose recorded results checksum (``simlab.plotting.results_stamp``) is not
that of ``results/<stem>.nc`` — or that records none although ``results/<its name>.nc`` exists.
``--json`` prints the JSON. A claim whose results file is missing is ``unresolved`` with reason
"no results"; a measure function that raises is ``unresolved`` with the error as reason and makes
the command exit 1.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import textwrap
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import xarray as xr

from experiments._cli import Parser
from experiments.claims import CLAIMS, PAPERS, Claim
from simlab.verdict import STATUSES, Verdict, decide

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
DOC = Path("docs") / "verdicts.md"
JSON = Path("results") / "verdicts.json"
README = Path("README.md")
COMMAND = "python -m experiments.verdicts"


# -- evaluating claims -------------------------------------------------------------------------------

def load_function(spec: str):
    """"package.module:function" → the function."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"spec={spec!r} must read 'package.module:function'")
    return getattr(importlib.import_module(module), name)


def results_path(claim: Claim, results: Path = RESULTS) -> Path:
    return Path(results) / f"{claim.results_stem}.nc"


def load_results(path: Path) -> xr.Dataset | None:
    """The Dataset at ``path`` (checksum checked), or None when absent or corrupt."""
    from simlab.cache import load_dataset
    return load_dataset(path)


def evaluate(claim: Claim, ds: xr.Dataset | None = None, *, results: Path = RESULTS,
             quick: bool | None = None) -> Verdict:
    """The verdict of one claim on ``ds`` (default: its results file). ``quick`` None: read from
    the Dataset's ``quick`` attribute (set by the harness), so a --quick Dataset gives smoke."""
    if ds is None:
        path = results_path(claim, results)
        if not path.exists():
            return Verdict("unresolved", math.nan, None, reason="no results",
                           details={"results": f"results/{path.name}"})
        ds = load_results(path)
        if ds is None:
            return Verdict("unresolved", math.nan, None,
                           reason="results file unreadable or its checksum fails",
                           details={"results": f"results/{path.name}", "error": True})
    if quick is None:
        quick = bool(int(ds.attrs.get("quick", 0)))
    measurement = load_function(claim.measure)(ds, **claim.args)
    outside = load_function(claim.outside)(ds, **claim.args) if claim.outside else None
    return decide(measurement, claim.prediction, quick=quick, outside=outside)


def claims_of(stem: str) -> tuple[Claim, ...]:
    return tuple(c for c in CLAIMS if c.results_stem == stem)


def _num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.4g}"


def format_value(v: Verdict) -> str:
    text = _num(v.value)
    if v.interval is not None and text != "–" and not all(
            isinstance(x, float) and math.isnan(x) for x in v.interval):
        text += f" [{_num(v.interval[0])}, {_num(v.interval[1])}]"
    return text


def format_status(v: Verdict) -> str:
    return v.status + (f" ({v.knob})" if v.knob else "") \
        + (f", ~{v.seeds_needed} seeds would resolve it" if v.seeds_needed else "")


def format_verdict(v: Verdict) -> str:
    """One line: status (knob / seeds): value [interval] — reason."""
    return f"{format_status(v)}: {format_value(v)}" + (f" — {v.reason}" if v.reason else "")


def verdict_lines(ds: xr.Dataset, stem: str | None = None, width: int = 100) -> str:
    """The verdict of every claim measured on this Dataset (for a report): one claim a line,
    wrapped at ``width`` columns with indented continuation lines. A --quick Dataset prints
    ``smoke``; a run that lacks the points a claim compares (``--batch-sizes 1``) prints it
    ``unresolved`` with the reason, not a traceback (the shipped results, checked by
    ``experiments.verdicts``, still fail loudly)."""
    stem = stem or ds.attrs.get("stem") or ds.attrs.get("experiment")
    lines = []
    for claim in claims_of(stem):
        try:
            v = evaluate(claim, ds)
        except (KeyError, IndexError) as exc:   # a run without the claim's points (e.g. fewer B)
            v = Verdict("unresolved", math.nan, None,
                        reason=f"this run lacks what the claim compares ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:80] if str(exc) else ''})")
        if v.status == "smoke":               # the status says it all; no reason repeated per row
            lines.append(f"{claim.id}: {format_status(v)}: {format_value(v)}")
            continue
        lines += textwrap.wrap(f"{claim.id}: {format_verdict(v)}", width, subsequent_indent="    ",
                               break_on_hyphens=False, break_long_words=False)
    return "\n".join(lines)


# -- the records -------------------------------------------------------------------------------------

def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return x if math.isfinite(x) else str(x)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


def records(root: Path = ROOT) -> list[dict]:
    """Every claim with its verdict on ``root/results`` (in registry order)."""
    out = []
    cache: dict[str, xr.Dataset | None] = {}
    for claim in CLAIMS:
        path = Path(root) / "results" / f"{claim.results_stem}.nc"
        if claim.results_stem not in cache and path.exists():
            cache[claim.results_stem] = load_results(path)
        error = None
        try:
            if not path.exists():
                v = evaluate(claim, results=Path(root) / "results")
            elif cache[claim.results_stem] is None:
                v = Verdict("unresolved", math.nan, None,
                            reason="results file unreadable or its checksum fails")
                error = v.reason
            else:
                v = evaluate(claim, cache[claim.results_stem])
        except Exception as exc:                     # a broken measure: recorded, exit 1
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            v = Verdict("unresolved", math.nan, None, reason=f"measure failed: {error}")
        out.append(_jsonable({
            "id": claim.id, "paper": claim.paper, "where": claim.where,
            "statement": claim.statement, "assumptions": claim.assumptions,
            "experiment": claim.experiment, "results": f"results/{claim.results_stem}.nc",
            "protocol": claim.protocol, "paper_value": claim.paper_value,
            "status": v.status, "value": v.value,
            "interval": list(v.interval) if v.interval is not None else None,
            "knob": v.knob, "seeds_needed": v.seeds_needed, "reason": v.reason,
            "details": v.details, "error": error}))
    return out


def counts(recs: list[dict]) -> dict:
    """{paper: {status: n}} in PAPERS order, every status listed."""
    by = {key: Counter() for key in PAPERS}
    for r in recs:
        by[r["paper"]][r["status"]] += 1
    return {key: {s: by[key][s] for s in STATUSES} for key in PAPERS}


def render_json(recs: list[dict]) -> str:
    return json.dumps({"generated_by": COMMAND, "statuses": list(STATUSES),
                       "counts": counts(recs), "claims": recs},
                      indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _float(x):
    return float(x) if isinstance(x, (int, float)) else (math.inf if x == "inf" else
                                                            -math.inf if x == "-inf" else math.nan)


def render_markdown(recs: list[dict]) -> str:
    lines = ["# Verdicts on the four papers",
             "",
             f"<!-- generated by `{COMMAND}` from results/*.nc and experiments/claims.py: do not "
             "edit by hand; `--check` fails when this file disagrees with results/ -->",
             "",
             "Generated: every row is one record of `experiments/claims.py`, measured on the "
             "results file it names and decided by the one rule, `simlab.verdict.decide` "
             "(docs/harness.md, \"Claims and verdicts\"). Intervals are 90 % bootstrap intervals "
             "over seeds (a tuned-lr comparison re-selects the lr in every resample); "
             "`unresolved` says how many seeds would resolve the sign where that is known; "
             "`outside` names the violated assumption; a claim whose results file has not been "
             "shipped yet reads `unresolved` (no results).",
             ""]
    for key, paper in PAPERS.items():
        rows = [r for r in recs if r["paper"] == key]
        if not rows:
            continue
        title = paper.title + (f" (arXiv {paper.arxiv})" if paper.arxiv else "")
        lines += [f"## {title}", "",
                  "| claim | paper value | simlab value [90 % interval] (conditions) | verdict |",
                  "|---|---|---|---|"]
        for r in rows:
            v = Verdict(r["status"], _float(r["value"]),
                        None if r["interval"] is None else tuple(map(_float, r["interval"])),
                        r["knob"], r["seeds_needed"], r["reason"])
            conditions = "; ".join(x for x in (r["protocol"], f"`{r['results']}`") if x)
            lines.append(f"| {_cell(r['where'])}: {_cell(r['statement'])} (`{r['id']}`) "
                         f"| {_cell(r['paper_value'])} | {_cell(format_value(v))} "
                         f"({_cell(conditions)}) | **{_cell(format_status(v))}**"
                         + (f": {_cell(r['reason'])}" if r["reason"] else "") + " |")
        lines.append("")
    return "\n".join(lines)


def block_claims(recs: list[dict]) -> str:
    """The README block: claims per paper and per verdict."""
    c = counts(recs)
    head = "| paper | " + " | ".join(STATUSES) + " | total |"
    lines = [head, "|---" * (len(STATUSES) + 2) + "|"]
    for key, row in c.items():
        lines.append(f"| {PAPERS[key].title.split(':')[0]} | "
                     + " | ".join(str(row[s]) for s in STATUSES) + f" | {sum(row.values())} |")
    total = {s: sum(row[s] for row in c.values()) for s in STATUSES}
    lines.append("| **all** | " + " | ".join(str(total[s]) for s in STATUSES)
                 + f" | {sum(total.values())} |")
    return "\n".join(lines)


def block_experiment(recs: list[dict], experiment: str) -> str:
    """The README block ``verdicts:<experiment>``: one line per claim measured by it."""
    rows = [r for r in recs if r["experiment"] == experiment]
    if not rows:
        raise ValueError(f"README block 'verdicts:{experiment}' names no experiment with claims")
    out = []
    for r in rows:
        v = Verdict(r["status"], _float(r["value"]),
                    None if r["interval"] is None else tuple(map(_float, r["interval"])),
                    r["knob"], r["seeds_needed"], r["reason"])
        why = f" ({r['reason']})" if r["status"] in ("unresolved", "outside", "depends") else ""
        out.append(f"- {r['where']} (`{r['id']}`): **{format_status(v)}**{why} — "
                   f"{format_value(v)}" + (f" ({r['protocol']})" if r["protocol"] else ""))
    return "\n".join(out)


#: README blocks this command generates: name → function(records) -> markdown; a block
#: ``verdicts:<experiment>`` lists that experiment's claims (``block_experiment``).
BLOCKS = {"claims": block_claims}


def block_table(root: Path, experiment: str, function: str) -> str:
    """The block ``table:<experiment>:<function>``: ``experiments.<experiment>.<function>(ds)`` on
    its shipped results file (a markdown table or text read from the Dataset only)."""
    path = Path(root) / "results" / f"{experiment}.nc"
    ds = load_results(path) if path.exists() else None
    if ds is None:
        return f"(no results: `python -m experiments.{experiment}` writes results/{experiment}.nc)"
    return load_function(f"experiments.{experiment}:{function}")(ds)


def block_file(root: Path, relative: str) -> str:
    """The block ``file:<path>``: the text a script wrote under results/ (a benchmark's table,
    ``benchmarks/simulate.py --save``), shown as written."""
    path = (Path(root) / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to((Path(root) / "results").resolve()):
        raise ValueError(f"generated block file:{relative} must name a file under results/")
    if not path.exists():
        return f"(no file: the script that writes {relative} has not been run)"
    return path.read_text().strip()


def _generator(name: str, root: Path):
    if name in BLOCKS:
        return BLOCKS[name]
    if name.startswith("verdicts:"):
        return lambda recs: block_experiment(recs, name.split(":", 1)[1])
    if name == "lm_plan":
        from experiments._lm import plan_tables
        return lambda recs: plan_tables()
    if name.startswith("timing:"):
        from experiments import _timing
        return lambda recs: _timing.table(root, name.split(":", 1)[1].split(","))
    if name.startswith("file:"):
        return lambda recs: block_file(root, name.split(":", 1)[1])
    if name.startswith("table:") and name.count(":") == 2:
        _, experiment, function = name.split(":")
        return lambda recs: block_table(root, experiment, function)
    raise ValueError(f"generated block {name!r} has no generator in experiments.verdicts.BLOCKS "
                     f"(known: {', '.join(BLOCKS)}, verdicts:<experiment>, "
                     "table:<experiment>:<function>, timing:<stem>,<stem>,..., "
                     "file:results/<path>, lm_plan)")


def _blocks(text: str):
    """[(name, start of body, end of body)] of the generated blocks in ``text``: a line
    ``<!-- generated:NAME -->`` up to the line ``<!-- /generated:NAME -->`` (markers quoted inside
    a line, as in docs, are text)."""
    import re
    out = []
    for match in re.finditer(r"^<!-- generated:(\S+) -->$", text, flags=re.M):
        name = match.group(1)
        end = re.compile(rf"^<!-- /generated:{re.escape(name)} -->$", flags=re.M).search(
            text, match.end())
        if end is None:
            raise ValueError(f"generated block {name!r} has no closing <!-- /generated:{name} -->")
        out.append((name, match.end(), end.start()))
    return out


def render_readme(text: str, recs: list[dict], root: Path = ROOT) -> str:
    """``text`` with every generated block rewritten (a block with no generator: ValueError)."""
    out, last = [], 0
    for name, start, end in _blocks(text):
        out += [text[last:start], "\n", _generator(name, root)(recs), "\n"]
        last = end
    out.append(text[last:])
    return "".join(out)


# -- figures ---------------------------------------------------------------------------------------

def figure_problems(root: Path) -> list[str]:
    """Committed figures that disagree with results/ (see the module docstring)."""
    from simlab.plotting import figure_stamp
    problems = []
    for png in sorted((Path(root) / "figures").glob("*.png")):
        stamp = figure_stamp(png)
        if stamp is None:
            if (Path(root) / "results" / f"{png.stem}.nc").exists():
                problems.append(f"figures/{png.name} records no results checksum although "
                                f"results/{png.stem}.nc exists: redraw it (python -m "
                                "experiments.all --redraw)")
            continue
        stem, checksum = stamp
        path = Path(root) / "results" / f"{stem}.nc"
        ds = load_results(path) if path.exists() else None
        if ds is None:
            problems.append(f"figures/{png.name} was drawn from results/{stem}.nc, which is "
                            "missing or corrupt")
        elif ds.attrs.get("checksum") != checksum:
            problems.append(f"figures/{png.name} was drawn from another version of "
                            f"results/{stem}.nc: redraw it")
    return problems


def pages(root: Path) -> list[Path]:
    """The pages whose generated blocks this command keeps: README.md and docs/*.md (but
    docs/verdicts.md, which is generated whole)."""
    root = Path(root)
    found = [root / README] if (root / README).exists() else []
    return found + sorted(p for p in (root / "docs").glob("*.md") if p.name != DOC.name)


def _first_difference(a: str, b: str) -> str:
    for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines()), start=1):
        if x != y:
            return f"line {i}: {x[:80]!r} (file) vs {y[:80]!r} (results)"
    return "length differs"


def check(root: Path = ROOT, recs: list[dict] | None = None) -> list[str]:
    """Every disagreement between the generated files, the figures and results/ (empty: none)."""
    root = Path(root)
    recs = records(root) if recs is None else recs
    problems = [f"{r['id']}: {r['reason']}" for r in recs if r["error"]]
    for path, expected in ((DOC, render_markdown(recs)), (JSON, render_json(recs))):
        full = root / path
        if not full.exists():
            problems.append(f"{path} is missing: run {COMMAND}")
        elif full.read_text() != expected:
            problems.append(f"{path} disagrees with results/ "
                            f"({_first_difference(full.read_text(), expected)}): run {COMMAND}")
    for page in pages(root):
        text = page.read_text()
        try:
            if render_readme(text, recs, root) != text:
                problems.append(f"a generated block of {page.relative_to(root)} disagrees with "
                                f"results/: run {COMMAND}")
        except ValueError as exc:
            problems.append(f"{page.relative_to(root)}: {exc}")
    for nc in sorted((root / "results").glob("*.nc")):
        if load_results(nc) is None:
            problems.append(f"results/{nc.name} is unreadable or its checksum fails")
    return problems + figure_problems(root)


def write(root: Path = ROOT, recs: list[dict] | None = None) -> list[dict]:
    from simlab.cache import write_atomic
    root = Path(root)
    recs = records(root) if recs is None else recs
    (root / JSON).parent.mkdir(parents=True, exist_ok=True)
    (root / DOC).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(root / DOC, render_markdown(recs).encode())
    write_atomic(root / JSON, render_json(recs).encode())
    for page in pages(root):
        text = page.read_text()
        new = render_readme(text, recs, root)
        if new != text:
            write_atomic(page, new.encode())
    return recs


def parser() -> Parser:
    p = Parser(prog=COMMAND, description=__doc__,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=ROOT, metavar="DIR",
                   help="repository root holding results/, docs/, figures/, README.md "
                        "(default: this checkout)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when the generated files or figures disagree "
                        "with results/")
    p.add_argument("--json", action="store_true", help="print the JSON")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if not args.root.is_dir():
        print(f"{COMMAND}: error: root={str(args.root)!r} is not a folder", file=sys.stderr)
        return 2
    try:
        recs = records(args.root)
        if args.check:
            problems = check(args.root, recs)
            for line in problems:
                print(f"--check: {line}", file=sys.stderr)
            if not problems:
                print(f"--check: docs/verdicts.md, results/verdicts.json, the generated blocks and "
                      f"the figures agree with results/ ({len(recs)} claims)")
        else:
            write(args.root, recs)
            problems = [r for r in recs if r["error"]]
        if args.json:
            print(render_json(recs), end="")
        elif not args.check:
            c = Counter(r["status"] for r in recs)
            print(f"{len(recs)} claims: " + ", ".join(f"{c[s]} {s}" for s in STATUSES)
                  + f"; wrote {DOC}, {JSON}")
    except ValueError as exc:
        print(f"{COMMAND}: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
