#!/usr/bin/env python3
"""Judges `analyze usage --against` on a real Claude Code run.

    against_check.py ANALYZE PROJECTS_DIR ARCHIVE [--missing KIND ...]

PROJECTS_DIR is the run's `$HOME/.claude/projects`. The main-loop calls must
agree with the local transcript (matched, same counts), nothing may be in the
local logs only, and exactly the given kinds (e.g. `side:git-history`) must
be listed as missing locally, each with its tokens; exit status 1 from
analyze when something is missing, else 0. Exits 1 with the reasons on a
failure.
"""
import json
import subprocess
import sys

analyze, projects, archive = sys.argv[1:4]
want_missing = sorted(sys.argv[sys.argv.index("--missing") + 1:]) if "--missing" in sys.argv else []
r = subprocess.run([analyze, "usage", "--against", projects, archive, "--json"], capture_output=True, text=True)
problems = []
try:
    v = json.loads(r.stdout)
except ValueError:
    print(f"analyze usage --against printed no JSON (exit {r.returncode}):\n{r.stderr}")
    sys.exit(1)
want_code = 1 if want_missing else 0
if r.returncode != want_code:
    problems.append(f"exit {r.returncode}, expected {want_code}")
if len(v["sessions"]) != 1:
    problems.append(f"{len(v['sessions'])} sessions compared, expected 1")
for s in v["sessions"]:
    kinds = sorted(k for k, n in s["missing_by_kind"].items() for _ in range(n))
    if kinds != want_missing:
        problems.append(f"missing locally: {kinds}, expected {want_missing}")
    for c in s["missing_locally"]:
        if c["usage"]["input_tokens"] <= 0 or c["usage"]["output_tokens"] <= 0:
            problems.append(f"missing call without tokens: {c}")
    if s["token_differences"]:
        problems.append(f"counts differ: {s['token_differences']}")
    if s["local_only"]:
        problems.append(f"local entries not on the wire: {s['local_only']}")
    if s["matched"] < 1:
        problems.append("no main-loop call matched")
    if s["wire"]["calls"] != s["matched"] + len(s["missing_locally"]):
        problems.append(f"wire calls {s['wire']['calls']} != matched + missing")
if problems:
    print("\n".join(problems))
    print(json.dumps(v, indent=1)[:4000])
    sys.exit(1)
s = v["sessions"][0]
print(f"  {s['matched']} matched, missing locally: {s['missing_by_kind'] or 'none'} "
      f"({s['missing_sums']['input_tokens']} input / {s['missing_sums']['output_tokens']} output tokens)")
