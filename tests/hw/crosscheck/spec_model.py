#!/usr/bin/env python3
"""An independent transcription of shared/specs/bitfusion-cost-model.md in plain Python.

Written separately from jaq/hw (Python integers, dictionaries, itertools.permutations) to
cross-check the C++ reference mapper. Reads one layer + configuration per line
("K O S IC OC B im2col ip wp N M wbuf ibuf obuf if_width") and prints the best mapping in the
format of map_rows.cpp. Per-bit energies come from the command line (the C++ side prints them).
"""
import itertools
import sys


def ceil(a, b):
    return -(-a // b)


def tiles(full, step):
    out, i = [], 0
    while True:
        t = (2 ** i) * step
        out.append(min(t, full))
        if t >= full:
            return out
        i += 1


TOUCH = {"B": ("act", "out"), "OW": ("act", "out"), "OH": ("act", "out"),
         "IC": ("act", "wgt"), "OC": ("wgt", "out")}


def best_mapping(K, O, S, IC, OC, B, im2col, ip, wp, N, M, wb, ib, ob, ifw, em):
    core, e_wr, e_ww, e_ir, e_iw, e_or, e_ow = em
    pf = (8 // max(ip, 2)) * (8 // max(wp, 2))
    cap = {"wgt": wb * 8 // 2, "act": ib * 8 // 2, "out": ob * 8 // 2}
    cands = [(b, o, ic, oc) for b in tiles(B, 1) for o in tiles(O, 1) for ic in tiles(IC, 1)
             for oc in tiles(OC, 1 if im2col else M)]
    best = None
    for perm in itertools.permutations(["B", "OW", "OH", "IC", "OC"]):
        pbest = None
        for b, o, ic, oc in cands:
            nb, no, nic, noc = ceil(B, b), ceil(O, o), ceil(IC, ic), ceil(OC, oc)
            w = ceil(K * K * ic, N * pf) * N * pf * oc * wp
            if im2col:
                a = o * o * K * K * ic * b * ip
            else:
                a = (K + (o - 1) * S) * (K + (o - 1) * S) * ic * b * ip
            ot = o * o * ceil(oc, M) * M * b * 32
            if w > cap["wgt"] or a > cap["act"] or ot > cap["out"]:
                continue
            if im2col:
                per = b * o * o * ceil(oc, M) * ceil(K * K * ic, N * pf)
            else:
                per = b * ceil(oc, M) * o * o * K * K * ceil(ic, N * pf)
            T = nb * no * no * nic * noc
            compute = per * T
            write = {"wgt": w, "act": a, "out": ot}
            read_out = ot
            promoted = {"wgt": True, "act": True, "out": True}
            max_write = dict(write)
            max_read_out = ot
            count = {"B": nb, "OW": no, "OH": no, "IC": nic, "OC": noc}
            for loop in reversed(perm):
                n = count[loop]
                for x in ("wgt", "act", "out"):
                    if promoted[x] and x not in TOUCH[loop]:
                        continue
                    write[x] *= n
                    if x == "out":
                        read_out *= n
                    if promoted[x]:
                        if write[x] <= cap[x]:
                            max_write[x] = write[x]
                            if x == "out":
                                max_read_out = read_out
                        else:
                            promoted[x] = False
            dram_rd = write["wgt"] + write["act"] + write["out"]
            dram_wr = read_out
            initial = max_write["wgt"] + max_write["act"] + max_write["out"]
            final = max_read_out
            latency = ceil(initial, ifw) + ceil(final, ifw)
            middle = dram_rd + dram_wr - initial - final
            stall = max(0, ceil(middle, ifw) - compute) + latency
            total = compute + stall
            is_l = ceil(oc, M) * M
            os_l = ceil(K * K * ic, N * pf) * N * pf if im2col else ceil(ic, N * pf) * N * pf * K * K
            ws_l = b * o * o
            IS = os_l * ws_l * (ip + is_l * (wp + 32))
            OS = is_l * ws_l * (32 + os_l * (ip + wp))
            WS = os_l * is_l * (wp + ws_l * (ip + 32))
            scheme = "IS" if IS <= OS and IS <= WS else ("OS" if OS <= WS else "WS")
            P, R = o * o * b, K * K * ic
            wgt_rd, act_rd = 0, 0
            wgt_wr, act_wr, out_wr, out_rd = write["wgt"], write["act"], write["out"], read_out
            if scheme == "IS":
                act_rd += T * R * P * ip
                out_rd += T * R * P * oc * 32
                out_wr += T * R * P * oc * 32
                wgt_rd += T * R * P * oc * wp
            elif scheme == "OS":
                act_rd += T * oc * P * R * ip
                out_rd += T * oc * P * 32
                out_wr += T * oc * P * 32
                wgt_rd += T * oc * P * R * wp
            else:
                act_rd += T * R * oc * P * ip
                out_rd += T * R * oc * P * 32
                out_wr += T * R * oc * P * 32
                wgt_rd += T * R * oc * wp
            energy = ((total - stall) * core + wgt_rd * e_wr + wgt_wr * e_ww + act_rd * e_ir +
                      act_wr * e_iw + out_rd * e_or + out_wr * e_ow + dram_rd * 0.015 +
                      dram_wr * 0.015)
            rec = (total, energy, (b, nb, o, no, o, no, ic, nic, oc, noc), ">".join(perm), compute,
                   stall, dram_rd, dram_wr, wgt_rd, wgt_wr, act_rd, act_wr, out_rd, out_wr, scheme)
            if pbest is None or total < pbest[0] or (total == pbest[0] and energy < pbest[1]):
                pbest = rec
        if pbest is None:
            return None
        if best is None or pbest[0] < best[0] or (pbest[0] == best[0] and pbest[1] < best[1]):
            best = pbest
    return best


def main():
    em = [float(x) for x in sys.argv[1].split(",")]
    for line in sys.stdin:
        if not line.strip():
            continue
        f = [int(x) for x in line.split()]
        r = best_mapping(*f, em=em)
        if r is None:
            print("NOFIT")
            continue
        print(r[0], r[1].hex(), " ".join(map(str, r[2])), r[3], " ".join(str(x) for x in r[4:]))


if __name__ == "__main__":
    main()
