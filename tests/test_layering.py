"""The engine, training and file modules import one another one way: none imports, even inside a function, a module
that imports it back, directly or through others. A circle makes the import order matter and hides which module is
the base of which; ``Network.fit`` and ``Network.save`` stay, reaching down into training and the file format,
which never import the network back. Within the explainer the stages run one way, each importing only those before
it: spec -> recorded pass (stepping) -> laid-out derivation -> audit -> pipeline -> renderers -> api."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "chainrule"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The chainrule modules ``path`` imports at run time (anywhere in it; not under ``if TYPE_CHECKING:``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and getattr(block.test, "id", getattr(block.test, "attr", None)) == "TYPE_CHECKING"
               for stmt in block.body for node in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("chainrule")}
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = node.module if node.level == 0 else ".".join(filter(None, [base, node.module]))
            if not target or not target.startswith("chainrule"):
                continue
            for alias in node.names:     # "from . import blas" names a module; "from .io import load", a name
                found.add(f"{target}.{alias.name}" if (PACKAGE.parent / f"{target}.{alias.name}".replace(".", "/")
                                                       ).with_suffix(".py").exists() else target)
    return found - {name}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {t for t in imports(path) if t in modules and t != "chainrule"} for name, path in modules.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_one_that_imports_it_back():
    top_level = {name: {t for t in targets if t.count(".") == 1}
                 for name, targets in graph().items() if name.count(".") == 1}
    assert len(top_level) > 25 and circles(top_level) == []


def test_the_finder_sees_a_circle_through_a_function_level_import():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    edges = graph()
    assert "chainrule.training" in edges["chainrule.network"]        # fit, inside a method
    assert "chainrule.network" not in edges["chainrule.training"]    # only for type checkers


def test_the_explainer_is_a_one_way_pipeline():
    edges = graph()
    explain = {name: {t for t in targets if t.startswith("chainrule.explainer.")}
               for name, targets in edges.items() if name.startswith("chainrule.explainer.")}
    assert len(explain) > 15 and circles(explain) == []
    stages = ["spec", "stepping", "derivation", "audit", "pipeline", "renderers", "api"]
    for k, earlier in enumerate(stages):
        for later in stages[k + 1:]:
            assert f"chainrule.explainer.{later}" not in edges[f"chainrule.explainer.{earlier}"], (earlier, later)
    assert "chainrule.explainer.audit" in edges["chainrule.explainer.pipeline"]


def test_no_subpackage_has_a_circle_either():
    """The explainer, the teaching tools and the studio: every module of the package, at every depth."""
    edges = graph()
    assert len(edges) > 80 and circles(edges) == []
