#!/usr/bin/env python3
"""Summarises Nsight Compute's per-instruction source page (`ncu -i REPORT --page source --csv
--print-source sass`): the instructions with the most warp-stall samples, with the stall reasons
that make up at least a tenth of each, and the samples by opcode.

usage: ncu_stalls.py SOURCE.csv [TOP]   (dev/profile-flash.sh runs it on the GPU machine)
"""
import csv
import sys


def number(text):
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return 0.0


def main():
    rows = list(csv.reader(open(sys.argv[1], errors="replace")))
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    header_at = next((i for i, r in enumerate(rows) if "Source" in r), None)
    if header_at is None:
        sys.exit(f"{sys.argv[1]}: no 'Source' column (not ncu's source page as CSV?)")
    header, data = rows[header_at], [r for r in rows[header_at + 1:] if len(r) == len(rows[header_at])]
    source = header.index("Source")
    samples = next(i for i, c in enumerate(header) if c.startswith("Warp Stall Sampling (All"))
    reasons = [i for i, c in enumerate(header) if c.startswith("stall_") and "Not Issued" not in c]
    total = sum(number(r[samples]) for r in data) or 1.0
    print(f"{len(data)} instructions, {total:.0f} stall samples")
    for index in sorted(range(len(data)), key=lambda i: -number(data[i][samples]))[:top]:
        r = data[index]
        share = number(r[samples])
        why = " ".join(f"{header[j][6:]}={number(r[j]) / share:.0%}" for j in reasons
                       if share and number(r[j]) >= 0.1 * share)
        print(f"{index:5d} {share / total:6.2%}  {r[source].strip()[:64]:64s} {why}")
    by_opcode = {}
    for r in data:
        words = [w for w in r[source].split() if not w.startswith("@")]
        opcode = words[0].split(".")[0] if words else "?"
        by_opcode[opcode] = by_opcode.get(opcode, 0.0) + number(r[samples])
    print("by opcode: " + ", ".join(f"{k} {v / total:.1%}" for k, v in
                                    sorted(by_opcode.items(), key=lambda kv: -kv[1])[:16]))


if __name__ == "__main__":
    main()
