#!/usr/bin/env python3
"""The benchmark's Python baseline: the same traversal aggregates as `improve observe`
(exploration count, termination reasons, mean satisfaction and efficiency, anomaly
counts by type), computed with the json module, one line at a time.

usage: aggregate.py DIR   (prints one JSON object)"""
import json
import os
import sys


def new():
    return {"s": 0, "sat": None, "found": None}


def main(root):
    open_exps, done, anomalies = {}, [], {}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "target"))
        for name in sorted(files):
            if not name.endswith(".jsonl"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        break  # a partial last line is read next time
                    try:
                        line = json.loads(raw)
                    except ValueError:
                        continue
                    if not isinstance(line, dict):
                        continue
                    event, header = line.get("event"), line.get("header")
                    if event is not None:
                        nested = line.get("branching_event") or line.get("merge_event") or {}
                        key = (path, line.get("exploration_id") or nested.get("exploration_id") or "")
                        e = open_exps.setdefault(key, new())
                        if event == "EXPLORATION_END":
                            term = line.get("termination") or {}
                            fsat = term.get("final_satisfaction")
                            e["fsat"] = fsat if fsat is not None else line.get("satisfaction")
                            st = term.get("steps_taken")
                            e["st"] = st if st is not None else line.get("total_steps")
                            fn = line.get("found_narratives")
                            e["ef"] = len(fn) if fn is not None else None
                            e["reason"] = term.get("reason")
                            e["ended"] = True
                            done.append(open_exps.pop(key))
                    elif header is not None:
                        key = (path, header.get("exploration_id") or line.get("exploration_id") or "")
                        e = open_exps.setdefault(key, new())
                        e["s"] += 1
                        state = line.get("state") or {}
                        if state.get("satisfaction") is not None:
                            e["sat"] = state["satisfaction"]
                        findings = line.get("findings") or {}
                        found = findings.get("found_count")
                        if found is None and findings.get("found_narratives") is not None:
                            found = len(findings["found_narratives"])
                        if found is not None:
                            e["found"] = found
                        for a in line.get("anomalies") or []:
                            t = a.get("type") or "UNKNOWN"
                            anomalies[t] = anomalies.get(t, 0) + 1
    exps = done + [e for e in open_exps.values() if e["s"] > 0]
    termination, sats, effs = {}, [], []
    for e in exps:
        if e.get("reason") is not None:
            termination[e["reason"]] = termination.get(e["reason"], 0) + 1
        sat = e.get("fsat") if e.get("fsat") is not None else e["sat"]
        if sat is not None:
            sats.append(sat)
        if e["s"] > 0:
            effs.append((e["found"] or 0) / e["s"])
        elif e.get("ef") is not None and (e.get("st") or 0) > 0:
            effs.append(e["ef"] / e["st"])
    mean = lambda xs: sum(xs) / len(xs) if xs else None
    json.dump({"explorations": len(exps), "termination": termination,
               "satisfaction": mean(sats), "efficiency": mean(effs),
               "anomalies": anomalies}, sys.stdout)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
