#!/usr/bin/python3
"""Reads the logs of tools/bench_train.sh and prints the jaq vs PyTorch table (Markdown).

Each program prints a final line
    result: test_accuracy=<0..1> median_step_ms=<ms> images_per_s=<n> [key=value ...]
and runs under `/usr/bin/time -v -o <file>`, whose "Maximum resident set size (kbytes)" line is
the peak RSS. `--self-test` checks the parsing against fake logs.
"""
import argparse
import os
import re
import sys
import tempfile

RESULT_RE = re.compile(r"^result:((?:\s+[A-Za-z_]+=\S+)+)\s*$")
RSS_RE = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")
REQUIRED = ("test_accuracy", "median_step_ms", "images_per_s")


class ParseError(Exception):
    pass


def parse_result(text, name):
    """The key=value pairs of the last `result:` line, as floats."""
    found = None
    for line in text.splitlines():
        m = RESULT_RE.match(line.strip())
        if m:
            found = m.group(1)
    if found is None:
        raise ParseError(f"{name}: no 'result: test_accuracy=... median_step_ms=... images_per_s=...' line")
    out = {}
    for pair in found.split():
        k, v = pair.split("=", 1)
        try:
            out[k] = float(v)
        except ValueError:
            raise ParseError(f"{name}: result field {k}: expected a number, got '{v}'")
    missing = [k for k in REQUIRED if k not in out]
    if missing:
        raise ParseError(f"{name}: result line lacks {', '.join(missing)}")
    if not 0.0 <= out["test_accuracy"] <= 1.0:
        raise ParseError(f"{name}: test_accuracy must lie in [0, 1], got {out['test_accuracy']}")
    return out


def parse_rss_mb(text, name):
    m = RSS_RE.search(text)
    if not m:
        raise ParseError(f"{name}: no 'Maximum resident set size (kbytes)' line (from /usr/bin/time -v)")
    return int(m.group(1)) / 1024.0


def combine(runs):
    """Several runs (seeds) of one side: medians of the timings, the largest RSS, mean accuracy."""
    import statistics
    out = {k: statistics.median(r[k] for r in runs) for k in ("median_step_ms", "images_per_s")}
    out["rss_mb"] = max(r["rss_mb"] for r in runs)
    out["test_accuracy"] = statistics.fmean(r["test_accuracy"] for r in runs)
    out["accuracies"] = [r["test_accuracy"] for r in runs]
    if all("foreign_cpu_s" in r for r in runs):
        out["foreign_cpu_s"] = sum(r["foreign_cpu_s"] for r in runs)
    return out


TIME_USER_RE = re.compile(r"User time \(seconds\):\s*([\d.]+)")
TIME_SYS_RE = re.compile(r"System time \(seconds\):\s*([\d.]+)")


def parse_foreign_cpu(time_text, stat_text, name, clk_tck=100):
    """CPU-seconds other processes used while the run went on: the machine's busy time (two
    /proc/stat "cpu" lines, before and after) minus the run's own user + system time."""
    busy = []
    for line in stat_text.splitlines():
        f = line.split()
        if f and f[0] == "cpu":
            v = [int(x) for x in f[1:]]
            busy.append(sum(v) - v[3] - (v[4] if len(v) > 4 else 0))  # all but idle and iowait
    if len(busy) != 2:
        raise ParseError(f"{name}: expected two /proc/stat 'cpu' lines (before, after), found {len(busy)}")
    u, s = TIME_USER_RE.search(time_text), TIME_SYS_RE.search(time_text)
    if not u or not s:
        raise ParseError(f"{name}: no User/System time lines (from /usr/bin/time -v)")
    return max(0.0, (busy[1] - busy[0]) / clk_tck - float(u.group(1)) - float(s.group(1)))


def table(jaq, torch, machine, command, torch_label="PyTorch", run="small-cnn fp32, 1 epoch"):
    step_ratio = jaq["median_step_ms"] / torch["median_step_ms"]
    rss_ratio = jaq["rss_mb"] / torch["rss_mb"]
    ips_ratio = jaq["images_per_s"] / torch["images_per_s"]
    acc_diff = 100.0 * (jaq["test_accuracy"] - torch["test_accuracy"])
    ok = lambda c: "met" if c else "MISSED"
    lines = [
        f"Machine: {machine}",
        "",
        f"Command: `{command}`",
        "",
        f"Run: {run}",
        "",
        f"| | jaq | {torch_label} | jaq / {torch_label} | target |",
        "|---|---:|---:|---:|---|",
        f"| median step (ms) | {jaq['median_step_ms']:.2f} | {torch['median_step_ms']:.2f} | {step_ratio:.2f}x | "
        f"<= 0.67x: {ok(step_ratio <= 0.67)} |",
        f"| images/s (training loop) | {jaq['images_per_s']:.0f} | {torch['images_per_s']:.0f} | {ips_ratio:.2f}x | |",
        f"| peak RSS (MiB) | {jaq['rss_mb']:.0f} | {torch['rss_mb']:.0f} | {rss_ratio:.2f}x | < 1x: {ok(rss_ratio < 1.0)} |",
        f"| test accuracy | {100 * jaq['test_accuracy']:.2f}% | {100 * torch['test_accuracy']:.2f}% | "
        f"{acc_diff:+.2f} points | within 0.5 points: {ok(abs(acc_diff) <= 0.5)} |",
    ]
    if "foreign_cpu_s" in jaq and "foreign_cpu_s" in torch:
        lines.append(f"| CPU-seconds used by other processes during the runs | {jaq['foreign_cpu_s']:.1f} | "
                     f"{torch['foreign_cpu_s']:.1f} | | near 0: an idle machine |")
    if len(jaq.get("accuracies", [])) > 1 or len(torch.get("accuracies", [])) > 1:
        fmt = lambda a: ", ".join(f"{100 * x:.2f}" for x in a)
        lines += ["", f"Test accuracy is the mean over seeds (jaq: {fmt(jaq['accuracies'])}; "
                      f"{torch_label}: {fmt(torch['accuracies'])}); timings are the median over seeds, RSS the largest."]
    return "\n".join(lines)


def load(log_path, time_path, name):
    with open(log_path, errors="replace") as f:
        r = parse_result(f.read(), f"{name} ({log_path})")
    with open(time_path, errors="replace") as f:
        time_text = f.read()
    r["rss_mb"] = parse_rss_mb(time_text, f"{name} ({time_path})")
    stat_path = os.path.splitext(time_path)[0] + ".stat"  # written beside the time file, if at all
    if os.path.exists(stat_path):
        with open(stat_path) as f:
            r["foreign_cpu_s"] = parse_foreign_cpu(time_text, f.read(), f"{name} ({stat_path})",
                                                   os.sysconf("SC_CLK_TCK"))
    return r


def self_test():
    jaq_log = "epoch 1/1 step 50/469 loss 0.8 acc 0.7 img/s 5000.0 eta 10s\n" \
              "result: test_accuracy=0.8712 median_step_ms=20.5 images_per_s=6100.2\n"
    torch_log = "torch epoch 1/1 step 50/469 loss 0.8 acc 0.7\n" \
                "result: test_accuracy=0.8690 median_step_ms=41.0 images_per_s=3000 peak_rss_mb=600.1\n"
    time_txt = "\tCommand being timed: \"x\"\n\tMaximum resident set size (kbytes): 204800\n\tExit status: 0\n"
    j = parse_result(jaq_log, "jaq")
    assert j == {"test_accuracy": 0.8712, "median_step_ms": 20.5, "images_per_s": 6100.2}, j
    t = parse_result(torch_log, "torch")
    assert t["peak_rss_mb"] == 600.1 and t["median_step_ms"] == 41.0
    assert parse_rss_mb(time_txt, "t") == 200.0
    for bad, why in [("no result here\n", "no 'result:"),
                     ("result: test_accuracy=0.9 median_step_ms=abc images_per_s=1\n", "expected a number"),
                     ("result: test_accuracy=0.9 images_per_s=1\n", "lacks median_step_ms"),
                     ("result: test_accuracy=87.1 median_step_ms=1 images_per_s=1\n", "must lie in [0, 1]")]:
        try:
            parse_result(bad, "x")
        except ParseError as e:
            assert why in str(e), (why, str(e))
        else:
            raise AssertionError(f"accepted a bad line: {bad!r}")
    try:
        parse_rss_mb("nothing", "t")
        raise AssertionError("accepted a time file without RSS")
    except ParseError:
        pass
    with tempfile.TemporaryDirectory() as d:
        for name, text in [("jaq.log", jaq_log), ("torch.log", torch_log), ("jaq.time", time_txt),
                           ("torch.time", time_txt.replace("204800", "614400"))]:
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        jj = load(os.path.join(d, "jaq.log"), os.path.join(d, "jaq.time"), "jaq")
        tt = load(os.path.join(d, "torch.log"), os.path.join(d, "torch.time"), "torch")
    out = table(combine([jj]), combine([tt]), "test machine", "tools/bench_train.sh")
    many = combine([dict(jj, test_accuracy=0.86), dict(jj, test_accuracy=0.88, median_step_ms=30.0, rss_mb=300.0),
                    dict(jj, median_step_ms=10.0)])
    assert many["median_step_ms"] == 20.5 and many["rss_mb"] == 300.0, many
    assert abs(many["test_accuracy"] - (0.86 + 0.88 + 0.8712) / 3) < 1e-12, many
    assert "mean over seeds (jaq: 86.00, 88.00, 87.12" in table(many, combine([tt]), "m", "c")
    assert "| median step (ms) | 20.50 | 41.00 | 0.50x | <= 0.67x: met |" in out, out
    assert "| peak RSS (MiB) | 200 | 600 | 0.33x | < 1x: met |" in out, out
    labelled = table(combine([jj]), combine([tt]), "m", "c", "PyTorch 2.5.1", "small-cnn LSQ-4, 3 epochs")
    assert "Run: small-cnn LSQ-4, 3 epochs" in labelled and "| jaq | PyTorch 2.5.1 | jaq / PyTorch 2.5.1 |" in labelled, labelled
    assert "+0.22 points | within 0.5 points: met |" in out, out
    time_full = time_txt + "\tUser time (seconds): 3.50\n\tSystem time (seconds): 0.50\n"
    stat = "cpu  1000 0 200 5000 10 0 0 0 0 0\ncpu  1600 0 300 5100 10 0 0 0 0 0\n"
    assert abs(parse_foreign_cpu(time_full, stat, "t") - 3.0) < 1e-9  # 7.0 s busy - 4.0 s own
    try:
        parse_foreign_cpu(time_full, stat.splitlines()[0], "t")
        raise AssertionError("accepted one /proc/stat line")
    except ParseError:
        pass
    withf = table(dict(combine([jj]), foreign_cpu_s=0.2), dict(combine([tt]), foreign_cpu_s=12.0), "m", "c")
    assert "| CPU-seconds used by other processes during the runs | 0.2 | 12.0 |" in withf, withf
    print("bench_table self-test: ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--jaq-log", nargs="+", help="one log per run (seed)")
    ap.add_argument("--jaq-time", nargs="+", help="the /usr/bin/time -v output of each run, same order")
    ap.add_argument("--torch-log", nargs="+")
    ap.add_argument("--torch-time", nargs="+")
    ap.add_argument("--machine", default="")
    ap.add_argument("--command", default="tools/bench_train.sh")
    ap.add_argument("--torch-label", default="PyTorch", help="the PyTorch column's heading, e.g. 'PyTorch 2.5.1'")
    ap.add_argument("--run", default="small-cnn fp32, 1 epoch", help="what was trained, for the table's heading")
    a = ap.parse_args()
    if a.self_test:
        self_test()
        return
    try:
        if len(a.jaq_log) != len(a.jaq_time) or len(a.torch_log) != len(a.torch_time):
            raise ParseError("each log needs its /usr/bin/time file (same number, same order)")
        jaq = combine([load(l, t, "jaq") for l, t in zip(a.jaq_log, a.jaq_time)])
        torch = combine([load(l, t, "PyTorch") for l, t in zip(a.torch_log, a.torch_time)])
    except (ParseError, OSError) as e:
        sys.exit(f"bench_table: {e}")
    print(table(jaq, torch, a.machine, a.command, a.torch_label, a.run))


if __name__ == "__main__":
    main()
