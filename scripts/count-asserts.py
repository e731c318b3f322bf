#!/usr/bin/env python3
"""Counts KEEL_ASSERT* per function in C++ files: one line per function that has any, a total per
file. A function is a brace block opened at namespace level by a line holding ')' (a signature);
lambdas and nested blocks count towards the function around them.
Usage: scripts/count-asserts.py FILE... [--all] (--all also lists functions without asserts)"""
import re
import sys


def functions(text):
    depth, ns_depth, current, start_depth, out = 0, [], None, 0, []
    for line in text.split("\n"):
        code = re.sub(r'//.*', '', re.sub(r'"(\\.|[^"\\])*"', '""', line))
        opens, closes = code.count("{"), code.count("}")
        if current is None and opens and depth == len(ns_depth):
            if re.match(r'\s*(namespace\b|extern\b)', code) or code.strip().startswith("namespace"):
                ns_depth.append(depth)
            elif ")" in code or re.search(r'\)\s*(const)?\s*(->.*)?\{', code) or pending_sig:
                name = re.findall(r'([A-Za-z_][\w:~]*)\s*\(', pending_sig + code)
                current = {"name": name[0] if name else "?", "asserts": 0}
                start_depth = depth
        if current is not None:
            current["asserts"] += len(re.findall(r'\bKEEL_ASSERT\w*\s*\(', code))
        depth += opens - closes
        if current is not None and depth <= start_depth:
            out.append(current)
            current = None
        while ns_depth and depth <= ns_depth[-1] and closes:
            ns_depth.pop()
        globals()["pending_sig"] = code if (current is None and "(" in code and "{" not in code and ";" not in code) else (
            pending_sig + code if current is None and pending_sig and ";" not in code and "{" not in code else "")
    return out


pending_sig = ""
show_all = "--all" in sys.argv
grand_f = grand_a = 0
for path in [a for a in sys.argv[1:] if a != "--all"]:
    pending_sig = ""
    fs = functions(open(path).read())
    total = sum(f["asserts"] for f in fs)
    with_any = sum(1 for f in fs if f["asserts"])
    grand_f += len(fs)
    grand_a += total
    print(f"{path}: {total} asserts in {with_any} of {len(fs)} functions")
    for f in fs:
        if f["asserts"] or show_all:
            print(f"  {f['asserts']:3d}  {f['name']}")
print(f"total: {grand_a} asserts in {grand_f} functions")
