"""The project's modules import each other down the layers and without cycles: a
package imports only the floors below it (nmmo_jax <- policies, viz <- envs <- train
<- scripts: nothing imports scripts, only scripts imports train), and no module
imports one that imports it back, directly or through others. Read from the source
with ast (imports inside functions included); nothing is imported."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("nmmo_jax", "envs", "policies", "train", "viz", "scripts")
# The packages each package may import besides itself: those on the floors below.
MAY_IMPORT = {
    "nmmo_jax": set(),
    "policies": {"nmmo_jax"},
    "viz": {"nmmo_jax"},
    "envs": {"nmmo_jax", "policies", "viz"},
    "train": {"nmmo_jax", "policies", "viz", "envs"},
    "scripts": {"nmmo_jax", "policies", "viz", "envs", "train"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The project modules `path` imports at module level or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: climb from this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module; `from mod import name`, the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in modules and t != name}
    return found


def graph() -> dict[str, set[str]]:
    files = [f for p in PACKAGES for f in (ROOT / p).rglob("*.py")]
    modules = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, modules) for f in files}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def against_the_layers(edges: dict[str, set[str]]) -> list[str]:
    """"a -> b" for every import of module b by a module a whose package may not import b's."""
    package = lambda module: module.split(".")[0]
    return sorted(f"{a} -> {b}" for a, deps in edges.items() for b in deps
                  if package(b) != package(a) and package(b) not in MAY_IMPORT[package(a)])


def test_the_layer_check_finds_hand_built_upward_imports():
    edges = {"train.run.cli": {"scripts.replay", "envs.batch", "train.config"},
             "nmmo_jax.core": {"policies.io"}, "policies.resolve": {"train.run.policy"},
             "viz.record": {"envs.batch"}, "scripts.replay": {"train.run.policy"}}
    assert against_the_layers(edges) == ["nmmo_jax.core -> policies.io",
                                         "policies.resolve -> train.run.policy",
                                         "train.run.cli -> scripts.replay",
                                         "viz.record -> envs.batch"]


def test_every_import_points_down_the_layers():
    assert against_the_layers(graph()) == []


def test_the_cycle_finder_finds_a_hand_built_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_relative_imports_resolve_to_project_modules():
    edges = graph()
    assert "train.config" in edges["train.run.cli"]  # `from ..config import TrainConfig`
    assert "train.run.checkpoint" in edges["train.run.policy"]  # `from .checkpoint import`
    assert "nmmo_jax" in edges["train.ppo.update"]  # `import nmmo_jax as nj`


def test_no_module_imports_one_that_imports_it_back():
    assert cycle(graph()) is None, " -> ".join(cycle(graph()))
