#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerate exports.txt and procaddr.txt from an installed CUDA toolkit.

exports.txt lists every symbol name libcuda.so.1 must export: the names the
driver stub defines plus every target of cuda.h's versioning macros (with
their _ptds/_ptsz forms).  procaddr.txt maps the base names cuGetProcAddress
is asked for, with the CUDA version each ABI variant appeared in, to the
exported symbol implementing it.  Both files are committed so that the
library builds without the toolkit; rerun this script when a new toolkit
adds names.

usage: gen-exports.py [CUDA_HOME]   (default /usr/local/cuda)
"""
import os
import re
import subprocess
import sys

cuda = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CUDA_HOME", "/usr/local/cuda")
here = os.path.dirname(os.path.abspath(__file__))
stub = os.path.join(cuda, "lib64/stubs/libcuda.so")
hdr = os.path.join(cuda, "include/cuda.h")
tdefs = os.path.join(cuda, "include/cudaTypedefs.h")

out = subprocess.run(["nm", "-D", "--defined-only", stub], check=True,
                     capture_output=True, text=True).stdout
names = {l.split()[-1] for l in out.splitlines() if l.split()[-1].startswith("cu")}
stub_names = set(names)

# Targets of "#define cuX cuX_vN" and of the __CUDA_API_PTDS/PTSZ forms.
for m in re.finditer(r"^\s*#define\s+(cu\w+)\s+(.*)$", open(hdr).read(), re.M):
    tgt = m.group(2).strip()
    p = re.match(r"__CUDA_API_PT(DS|SZ)\((cu\w+)\)", tgt)
    if p:
        names.add(p.group(2))
        names.add(p.group(2) + "_pt" + p.group(1).lower())
    elif re.fullmatch(r"cu\w+", tgt):
        names.add(tgt)
missing = sorted(names - stub_names)
if missing:
    print("note: names from cuda.h not in the stub:", " ".join(missing), file=sys.stderr)

# cudaTypedefs.h: PFN_<base>_v<version>[_ptds|_ptsz], one per ABI variant.
variants = {}
for m in re.finditer(r"PFN_(cu\w+?)_v(\d+)(_ptds|_ptsz)?\b", open(tdefs).read()):
    base, ver, pt = m.group(1), int(m.group(2)), m.group(3) or ""
    variants.setdefault(base, set()).add((ver, pt))

# Renamed entry point: since CUDA 12.0 cuda.h maps cuGraphInstantiate to
# cuGraphInstantiateWithFlags, which cudaTypedefs.h lists under its own name.
special = {"cuGraphInstantiate": [(10000, "cuGraphInstantiate"),
                                  (11000, "cuGraphInstantiate_v2"),
                                  (12000, "cuGraphInstantiateWithFlags")]}
rows = []
for base in sorted(variants):
    plain = sorted(v for v, pt in variants[base] if not pt)
    if base in special:
        for ver, sym in special[base]:
            rows.append((base, ver, sym, "-"))
        continue
    syms = [s for s in [base] + ["%s_v%d" % (base, i) for i in range(2, 10)] if s in names]
    if len(syms) < len(plain):
        # Fewer symbols than versions: the oldest versions were dropped.
        plain = plain[len(plain) - len(syms):]
    elif len(syms) > len(plain):
        syms = syms[len(syms) - len(plain):]
    if not plain:
        print("skip %s: no plain variant" % base, file=sys.stderr)
        continue
    bysym = list(zip(plain, syms))
    for ver, sym in bysym:
        rows.append((base, ver, sym, "-"))
    for ver, pt in sorted(v for v in variants[base] if v[1]):
        older = [s for v, s in bysym if v <= ver] or [bysym[0][1]]
        sym = older[-1] + pt
        if sym not in names:
            print("skip %s: %s not exported" % (base, sym), file=sys.stderr)
            continue
        rows.append((base, ver, sym, "pt"))

with open(os.path.join(here, "exports.txt"), "w") as f:
    f.write("".join(n + "\n" for n in sorted(names)))
with open(os.path.join(here, "procaddr.txt"), "w") as f:
    for r in rows:
        f.write("%s %d %s %s\n" % r)
print("%d exports, %d proc-address rows" % (len(names), len(rows)))
