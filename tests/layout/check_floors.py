#!/usr/bin/env python3
"""The floors of include/cnnzoo stay true: no header includes one from a floor above its own.

    check_floors.py INCLUDE_DIR        exit 0, or 1 with every upward include named

Floors, lowest first (docs/ARCHITECTURE.md explains each):
  core  ops|dist  exec  data  graph  layers  blocks  models  train  io
(dist, the ranks of a data-parallel job, sits beside ops: the CPU policy's synchronized BatchNorm
and the training step use it, and it needs nothing above core.)
Two policies never include each other: exec/eigen* and exec/cuda* are side by side. The one
allowed exception is written down in BUILDS_ON: exec/onednn* is the Eigen policy with oneDNN's
convolutions, so it includes exec/eigen*; nothing includes exec/onednn* but exec/cpu.hpp.
"""
import os
import re
import sys

FLOORS = ["core", "ops", "dist", "exec", "data", "graph", "layers", "blocks", "models", "train", "io"]
LEVEL = {name: i for i, name in enumerate(FLOORS)}
LEVEL["dist"] = LEVEL["ops"]         # side by side with the op vocabulary
# cnnzoo.hpp gathers what a model file needs (layers, combinators, the network binding): the
# layers floor.
TOP_LEVEL_FILES = {"cnnzoo.hpp": LEVEL["layers"]}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def floor_of(rel):
    head = rel.split("/")[0]
    if "/" not in rel:
        if rel not in TOP_LEVEL_FILES:
            raise KeyError(f"{rel}: a header at the top of include/cnnzoo must be given a floor in {__file__}")
        return head, TOP_LEVEL_FILES[rel]
    if head not in LEVEL:
        raise KeyError(f"{rel}: folder '{head}' is not a floor; add it to FLOORS in {__file__} and ARCHITECTURE.md")
    return head, LEVEL[head]


# Policy -> the policies it is built on (and may include).
BUILDS_ON = {"onednn": {"eigen"}}


def policy_of(rel):
    m = re.match(r"exec/(eigen|cuda|onednn)", rel)
    return m.group(1) if m else None


def main(root):
    root = os.path.abspath(root)
    base = os.path.join(root, "cnnzoo")
    bad, edges = [], 0
    for d, _, files in os.walk(base):
        for f in sorted(files):
            if not f.endswith(".hpp"):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, base)
            src_floor, src_level = floor_of(rel)
            text = open(path, encoding="utf-8").read()
            for m in INCLUDE.finditer(text):
                kind, name = m.groups()
                if kind == '"':
                    target = os.path.normpath(os.path.join(os.path.dirname(path), name))
                elif name.startswith("cnnzoo/"):
                    target = os.path.join(root, name)
                else:
                    continue          # a system or third-party header
                if not target.startswith(base + os.sep):
                    continue
                trel = os.path.relpath(target, base)
                if not os.path.exists(target):
                    bad.append(f"{rel}: includes {name}, which does not exist")
                    continue
                edges += 1
                dst_floor, dst_level = floor_of(trel)
                line = text.count("\n", 0, m.start()) + 1
                if dst_level > src_level:
                    bad.append(f"include/cnnzoo/{rel}:{line}: {src_floor} includes {trel}, on the floor above ({dst_floor})")
                a, b = policy_of(rel), policy_of(trel)
                if a and b and a != b and b not in BUILDS_ON.get(a, ()):
                    bad.append(f"include/cnnzoo/{rel}:{line}: the {a} policy includes the {b} policy's {trel}")
    for b in bad:
        print(b)
    print(f"check_floors: {edges} includes inside include/cnnzoo, {len(bad)} against the floors")
    return 1 if bad else 0


def self_test():
    """The check catches an upward include and a policy including the other, and passes a clean tree."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        def write(rel, text):
            path = os.path.join(tmp, "cnnzoo", rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        write("core/shape.hpp", "#pragma once\n")
        write("graph/network.hpp", '#include "../core/shape.hpp"\n')
        assert main(tmp) == 0, "a clean tree must pass"
        write("graph/network.hpp", '#include "../train/sgd.hpp"\n')
        write("train/sgd.hpp", "#include <cnnzoo/core/shape.hpp>\n")
        assert main(tmp) == 1, "graph including train must fail"
        write("graph/network.hpp", "#pragma once\n")
        write("exec/eigen.hpp", '#include "cuda.hpp"\n')
        write("exec/cuda.hpp", "#pragma once\n")
        assert main(tmp) == 1, "one policy including the other must fail"
        write("exec/eigen.hpp", "#pragma once\n")
        write("exec/onednn.hpp", '#include "eigen.hpp"\n')
        assert main(tmp) == 0, "the oneDNN policy is built on the Eigen policy"
        write("exec/eigen.hpp", '#include "onednn.hpp"\n')
        assert main(tmp) == 1, "the Eigen policy including the oneDNN policy must fail"
    print("check_floors: self-test passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        sys.exit(self_test())
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
