#!/usr/bin/env python3
"""Checks that every module a Swift file imports is declared by its target in Package.swift.

A module that builds only because another dependency happens to bring it in breaks when that
dependency changes. Reads the manifest with `swift package dump-package`; system modules
(Foundation, Glibc, Testing, …) need no declaration. Prints each undeclared import and exits 1
if there is one.
"""
import json
import os
import re
import subprocess
import sys

SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "FoundationXML", "Glibc", "Musl", "Darwin",
          "Dispatch", "Synchronization", "Testing", "XCTest", "_Concurrency", "os"}
IMPORT = re.compile(r"^\s*(?:@testable\s+|@_exported\s+|(?:package|public|internal)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
manifest = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True,
                                     capture_output=True, text=True).stdout)
problems = 0
for target in manifest["targets"]:
    declared = set()
    for dep in target.get("dependencies", []):
        for kind in ("byName", "product", "target"):
            if kind in dep:
                declared.add(dep[kind][0])
    kind_dir = "Tests" if target["type"] == "test" else "Sources"
    path = os.path.join(root, target.get("path") or os.path.join(kind_dir, target["name"]))
    for folder, _, files in os.walk(path):
        for name in files:
            if not name.endswith(".swift"):
                continue
            file = os.path.join(folder, name)
            for module in IMPORT.findall(open(file, encoding="utf-8").read()):
                if module in SYSTEM or module in declared or module == target["name"]:
                    continue
                print(f"{os.path.relpath(file, root)}: imports {module}, which target {target['name']} does not declare")
                problems += 1
print(f"imports: {problems} undeclared" if problems else "imports: every imported module is declared")
sys.exit(1 if problems else 0)
