"""The package's layers: each module imports only from its own layer or the layers below it, and no
modules import each other in a circle. The import graph is read from the sources (every import
statement, those inside functions included), so a lazy import counts as much as one at the top."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "lecun1989"
# Bottom to top; the parts of one layer may import each other, never a layer above. stages/ (the
# stage scripts, outside the package) sit on top: nothing in the package imports them.
LAYERS = (("pipeline",), ("runtime",), ("data", "network"), ("training",), ("evaluation",), ("reporting",), ("stages",))
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for folder in (PACKAGE, "stages") for p in sorted((ROOT / folder).rglob("*.py"))}


def part(module: str) -> str | None:
    """The layer part a module belongs to: lecun1989.training.runs -> training, stages.train -> stages."""
    names = module.split(".")
    if names[0] == "stages":
        return "stages"
    return names[1] if len(names) > 1 else None  # lecun1989 itself: its docstring only


def target(dotted: str) -> str | None:
    """The module of ours an import names (its longest prefix that is one of MODULES), or None."""
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def imports(module: str, source: str | None = None) -> list[tuple[int, str]]:
    """(line, module) for every module of ours that `module` imports, anywhere in its source (its
    file's, unless given)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            names = [f"{base}.{a.name}" for a in node.names]  # from package import module
        else:
            continue
        found += [(node.lineno, t) for t in map(target, names) if t and t != module]
    return found


GRAPH = {module: imports(module) for module in MODULES}


def where(module: str, line: int) -> str:
    return f"{MODULES[module].relative_to(ROOT)}:{line}"


def test_the_layers_name_every_part_of_the_package():
    parts = {part(m) for m in MODULES} - {None}
    assert parts <= set(LEVEL), f"modules outside the declared layers: {sorted(parts - set(LEVEL))}"


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{where(m, line)} imports {t}: {part(m)} sits below {part(t)}"
        for m, edges in GRAPH.items()
        for line, t in edges
        if part(m) and part(t) and LEVEL[part(t)] > LEVEL[part(m)]
    ]
    assert not upward, "imports against the layer order " + " < ".join("/".join(parts) for parts in LAYERS) + ":\n" + "\n".join(upward)


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of graph ({node: the nodes it points to}) as [a, b, ..., a], or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_modules_import_each_other_in_a_circle():
    found = cycle({m: {t for _, t in edges} for m, edges in GRAPH.items()})
    if found:
        lines = [where(a, next(line for line, t in GRAPH[a] if t == b)) + f" imports {b}" for a, b in zip(found, found[1:])]
        raise AssertionError("modules that import each other in a circle:\n" + "\n".join(lines))


def test_no_parts_of_a_layer_import_each_other_in_a_circle():
    """pipeline, runtime, data, network, ...: each imports another one way only (data and network
    share a layer: one of them may use the other, not both)."""
    edges = {}
    for m, imported in GRAPH.items():
        for line, t in imported:
            if part(m) and part(t) and part(m) != part(t):
                edges.setdefault((part(m), part(t)), where(m, line) + f" imports {t}")
    found = cycle({a: {b for x, b in edges if x == a} for a, _ in edges})
    assert not found, "parts of the package that import each other in a circle:\n" + "\n".join(
        edges[a, b] for a, b in zip(found, found[1:])
    )


def test_the_check_sees_imports_inside_functions_and_names_them():
    """The scan itself: a lazy upward import in a function is found, with its file and line."""
    lazy = "import numpy\n\n\ndef f():\n    from lecun1989.evaluation import scoring\n    from . import threads\n"
    assert imports("lecun1989.training.runs", lazy) == [(5, "lecun1989.evaluation.scoring"), (6, "lecun1989.training.threads")]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"] and cycle({"a": {"b"}, "b": set()}) is None
