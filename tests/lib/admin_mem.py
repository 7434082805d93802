#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""admin_mem.py - reads one line of vgpud's admin "list" JSON on stdin and
prints the device memory in use, summed over all tenants, in bytes.

The memory field is recognised by name (a key holding both "mem" and
"used", e.g. "mem_used"), wherever it sits, so the test does not depend on
the rest of the layout.  Prints nothing and exits 1 when there is no such
field, so a caller can tell "no memory reported" from "zero bytes"."""
import json
import re
import sys

KEY = re.compile(r"mem.*used|used.*mem", re.I)


def walk(node, found):
    if isinstance(node, dict):
        own = [v for k, v in node.items() if KEY.search(k) and
               isinstance(v, int) and not isinstance(v, bool)]
        if own:
            # A tenant's total already covers its contexts: stop here so
            # nested per-context figures are not counted twice.
            found.extend(own)
            return
        for v in node.values():
            walk(v, found)
    elif isinstance(node, list):
        for v in node:
            walk(v, found)


def main():
    text = sys.stdin.read().strip()
    if not text:
        return 1
    try:
        doc = json.loads(text.splitlines()[0])
    except ValueError:
        return 1
    found = []
    walk(doc, found)
    if not found:
        # A list with no tenant at all is zero bytes in use.
        if isinstance(doc, dict) and any(
                isinstance(v, list) and not v for v in doc.values()):
            print(0)
            return 0
        return 1
    print(sum(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
