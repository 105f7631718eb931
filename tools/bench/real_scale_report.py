#!/usr/bin/python3
"""The report of tools/bench/real_scale.sh, computed from the files it left in the current directory
(phases.tsv, the sweeps' sweep.json/sweep.csv/logs, the evaluation and peer JSON). Markdown on stdout;
every figure and every pass/fail below is computed here from those files."""
import csv
import json
import os
import statistics

DEFAULT_BUDGET_S = 30 * 60  # cvtl sweep's default --budget (kDefaultSweepBudgetMinutes)


def mib(b):
    return f"{b / 2**20:,.0f} MiB" if b < 2**30 else f"{b / 2**30:.2f} GiB"


def load_phases():
    phases = {}
    for line in open("phases.tsv"):
        name, secs, rss, peak = line.rstrip("\n").split("\t")
        phases[name] = {"seconds": float(secs), "rss": int(rss), "peak": int(peak)}
    return phases


def prediction_ratios(sweep):
    """actual/predicted seconds per fold: for candidates whose folds ran their whole schedule, and for
    trainings the epoch gate stopped (their prediction scaled by the epochs they ran; sweeps since
    2026-12-03 record those seconds)."""
    state = json.load(open(f"{sweep}/sweep.json"))
    epochs = int(state["settings"]["epochs"])
    out = {}
    for row in csv.DictReader(open(f"{sweep}/sweep.csv")):
        folds = state["trials"].get(row["candidate"], [])
        predicted = float(row["predicted_fold_seconds"] or 0)
        whole = [f for f in folds if len(f["val_accuracy"]) == epochs]
        stopped = state.get("abandoned", {}).get(row["candidate"])
        if predicted > 0 and whole:
            out[row["candidate"]] = statistics.mean(f["seconds"] for f in whole) / predicted
        elif predicted > 0 and isinstance(stopped, dict) and stopped.get("epochs", 0) > 0 and stopped.get("seconds", 0) > 0:
            out[row["candidate"] + " (stopped)"] = stopped["seconds"] / (predicted * stopped["epochs"] / epochs)
    return out


def check(ok, text):
    return f"| {'pass' if ok else '**FAIL**'} | {text} |"


def main():
    phases = load_phases()
    lines = [f"Commit {os.environ.get('COMMIT', '?')}, {os.environ.get('CPU', '?')}, `tools/bench/real_scale.sh`.", "",
             "| phase | seconds | peak memory | peak size of its output |", "|---|---|---|---|"]
    for name, p in phases.items():
        lines.append(f"| {name} | {p['seconds']:.1f} | {mib(p['rss'])} | {mib(p['peak'])} |")
    lines += ["", "| result | check |", "|---|---|"]
    sweep, b10 = phases.get("sweep"), phases.get("sweep-b10")
    if sweep:
        lines.append(check(sweep["seconds"] <= 1.1 * DEFAULT_BUDGET_S,
                           f"default sweep {sweep['seconds']:.0f} s within its default budget + 10 % ({1.1 * DEFAULT_BUDGET_S:.0f} s)"))
        first = open("sweep.log").readline()
        lines.append(check(first.startswith("plan"), f"its output starts with the plan: `{first.strip()[:60]}`"))
        ratios = prediction_ratios("sweep-default")
        if ratios:
            worst = max(ratios.items(), key=lambda kv: max(kv[1], 1 / kv[1]))
            lines.append(check(all(0.5 <= r <= 2 for r in ratios.values()),
                               f"actual/predicted seconds per fold of {len(ratios)} trainings (whole, or stopped and scaled by epochs): "
                               f"{min(ratios.values()):.2f} to {max(ratios.values()):.2f} (worst {worst[0]}); within 2x"))
        best = os.path.getsize("sweep-default/best.onnx")
        lines.append(check(sweep["peak"] <= 2 * best,
                           f"sweep directory peaked at {mib(sweep['peak'])}; exported model {mib(best)} (limit 2x: {mib(2 * best)})"))
    if b10:
        lines.append(check(b10["seconds"] <= 660, f"`--budget 10` sweep {b10['seconds']:.0f} s, retraining and export included (limit 660 s)"))
    if os.path.exists("eval-sweep.json") and os.path.exists("eval-probe.json"):
        chosen = json.load(open("eval-sweep.json"))["accuracy"]
        probe = json.load(open("eval-probe.json"))["accuracy"]
        winner = next(r["candidate"] for r in csv.DictReader(open("sweep-default/sweep.csv")) if r["rank"] == "1")
        lines.append(check(chosen >= probe, f"held-out accuracy of the sweep's choice ({winner}) {chosen:.4f} >= the best single probe "
                                            f"(probe-{os.environ.get('BEST_PROBE', '?')}, chosen on validation) {probe:.4f}"))
        if os.path.exists("eval-b10.json"):
            lines.append(f"| info | held-out accuracy of the `--budget 10` sweep's choice: {json.load(open('eval-b10.json'))['accuracy']:.4f} |")
    for name, sweep_phase in (("peer-sweep", "sweep"), ("peer-b10", "sweep-b10")):
        path = f"{name}.json"
        if not os.path.exists(path) or sweep_phase not in phases:
            continue
        peer = json.load(open(path))
        cvtl = phases[sweep_phase]["seconds"]
        with_extract = cvtl + phases.get("extract", {"seconds": 0})["seconds"]
        lines.append(check(peer["peer_seconds"] >= 10 * with_extract,
                           f"{sweep_phase}: PyTorch on the same candidates {peer['peer_seconds']:.0f} s against cvtl's extraction + sweep "
                           f"{with_extract:.0f} s: {peer['peer_seconds'] / with_extract:.1f}x (sweep alone {peer['peer_seconds'] / cvtl:.1f}x); "
                           f"target 10x"))
    lines += ["", "Per candidate (PyTorch time = its measured per-image rates x the images the sweep processed):", "",
              "| sweep | candidate | trainings | epochs | cvtl s | PyTorch s | ratio |", "|---|---|---|---|---|---|---|"]
    for name in ("peer-sweep", "peer-b10"):
        if os.path.exists(f"{name}.json"):
            for r in json.load(open(f"{name}.json"))["candidates"]:
                # Sweeps before 2026-12-03 did not time the trainings the epoch gate stopped: no ratio for those.
                ratio = f"{r['peer_seconds'] / r['cvtl_seconds']:.1f}" if r["cvtl_seconds"] > 0 else "–"
                lines.append(f"| {name[5:]} | {r['candidate']} | {r['trainings']} | {r['epochs']} | {r['cvtl_seconds']:.1f} | "
                             f"{r['peer_seconds']:.0f} | {ratio} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
