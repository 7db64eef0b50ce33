"""The package's import structure follows DESIGN.md's flow: each subpackage imports only those
before it, nothing outside the CLI imports the CLI, and no module imports itself in a cycle."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "swegym"

# Lowest first. `sandbox` sits below `envs` because environments are built inside the sandbox;
# `tasks` below `sources` because a source materializes a task's repo (the Task model is the
# shared vocabulary). Modules at the package root (errors, config, extras, loopback) are below
# everything.
LAYERS = [
    "executors",  # where batches run (a thread pool, Ray): below everything that runs batches
    "tasks",
    "sources",
    "sandbox",
    "envs",
    "harness",
    "agent",
    "rollouts",
    "metrics",
    "train",
    "adapters",
    "curate",
    "server",
    "viewer",
    "cli",
]
BASE = {"errors", "config", "data", "extras", "loopback"}
EXEMPT = {"__init__", "__main__"}  # the package's lazy top-level API and `python -m swegym`


def _imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("swegym"):
            out.add(node.module)
            # `from swegym.pkg import module` imports the submodule too.
            out |= {
                f"{node.module}.{a.name}"
                for a in node.names
                if (ROOT.parent / node.module.replace(".", "/") / f"{a.name}.py").exists()
            }
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("swegym")}
    return out


def _subpackage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out[name] = path
    return out


def test_every_subpackage_has_a_layer() -> None:
    found = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert found - set(LAYERS) - BASE == set(), "add new subpackages to LAYERS (and DESIGN.md)"


def test_subpackages_import_only_lower_layers() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    bad = []
    for module, path in _modules().items():
        src = _subpackage(module)
        if src in EXEMPT or src in BASE or src == "":
            continue
        if src not in rank:
            bad.append(f"{module}: {src} has no layer (add it to LAYERS or BASE)")
            continue
        for imported in _imports(path):
            dst = _subpackage(imported)
            if dst == src or dst in BASE or dst == "":
                continue
            if rank.get(dst, -1) > rank[src]:
                bad.append(f"{module} imports {imported} ({src} is below {dst})")
    assert not bad, "\n".join(sorted(bad))


def test_no_module_level_import_cycles() -> None:
    mods = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in mods.items():
        for imported in _imports(path, top_level_only=True):
            target = imported if imported in mods else imported.rsplit(".", 1)[0]
            if target in mods and target != module:
                graph[module].add(target)
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend([*stack[stack.index(nxt) :], nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*stack, nxt]):
                return True
        state[node] = 2
        return False

    for m in sorted(mods):
        if state.get(m) is None and visit(m, [m]):
            break
    assert not cycle, " -> ".join(cycle)
