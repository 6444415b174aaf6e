"""The house has no arrows up: every import of the project's own modules, read from the source
(ast, so imports inside functions count too), follows the layering of docs/architecture.md.

- the core platform (core/ without core/interviews) imports no domain, plugin or the assembly;
- the domains (core.interviews, tenants, billing) import no plugin and not the assembly;
- a plugin (built-in or the example) imports only the modules listed in docs/plugins.md,
  "What a plugin may import", and its own package; never another plugin, a domain's
  internals, or the assembly.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGINS_MD = ROOT / "docs" / "plugins.md"


@dataclass(frozen=True)
class Import:
    source: str  # repository path of the importing file
    line: int
    module: str  # the module imported, with `from X import name` read as X.name when that is a module


def module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, base: Path) -> list[Import]:
    """Every import in the file; `from pkg import sub` reads as `pkg.sub` when `sub` is a module or package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, base)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    source = str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.relative_to(base))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(source, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*anchor, *([module] if module else [])])
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                is_module = (base / Path(*sub.split("."))).is_dir() or (base / Path(*sub.split("."))).with_suffix(".py").exists()
                found.append(Import(source, node.lineno, sub if is_module else module))
    return found


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if ".venv" not in p.parts and "build" not in p.parts)


def is_test(path: Path) -> bool:
    # A plugin's own tests may build the whole service, as the project's tests do.
    return path.name.startswith("test_") or path.name == "conftest.py" or "tests" in path.parts


def within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def public_api() -> set[str]:
    """The modules listed in docs/plugins.md under "What a plugin may import"."""
    section = PLUGINS_MD.read_text().split("## What a plugin may import", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([\w.]+)` \|", section, re.MULTILINE))


def plugin_packages() -> dict[str, Path]:
    """Each installed plugin's package (from the entry points of this project and of the
    examples) and the folder that holds the package's top level."""
    found = {}
    for pyproject in [ROOT / "pyproject.toml", *sorted(ROOT.glob("examples/*/pyproject.toml"))]:
        eps = tomllib.loads(pyproject.read_text())["project"].get("entry-points", {}).get("mendan.plugins", {})
        for value in eps.values():
            found[value.split(":")[0].rpartition(".")[0]] = pyproject.parent
    return found


FIRST_PARTY = ("core", "tenants", "billing", "plugins", "mendan", *{p.split(".")[0] for p in plugin_packages()})
DOMAINS = ("core.interviews", "core.webhooks", "tenants", "billing")
PLUGINS = ("plugins", *{p.split(".")[0] for p in plugin_packages() if not p.startswith("plugins.")})


def violations(files: list[Path], base: Path, forbidden) -> list[str]:
    return [f"{i.source}:{i.line} imports {i.module}"
            for path in files for i in imports_of(path, base) if within(i.module, forbidden)]


def test_the_core_platform_imports_no_domain_plugin_or_assembly():
    platform = [p for p in python_files(ROOT / "core") if p.relative_to(ROOT / "core").parts[0] not in ("interviews", "webhooks")]
    assert len(platform) > 30
    assert violations(platform, ROOT, (*DOMAINS, *PLUGINS, "mendan")) == []


def test_the_domains_import_no_plugin_and_not_the_assembly():
    domains = [*python_files(ROOT / "core" / "interviews"), *python_files(ROOT / "core" / "webhooks"), *python_files(ROOT / "tenants"), *python_files(ROOT / "billing")]
    assert violations(domains, ROOT, (*PLUGINS, "mendan")) == []


def test_plugins_import_only_the_public_api_and_themselves():
    allowed = public_api()
    assert {"core.hookspecs", "core.plugins", "core.interviews.api", "core.tables", "core.consent"} <= allowed
    packages = plugin_packages()
    problems = []
    checked = 0
    for package, base in packages.items():
        folder = base / Path(*package.split("."))
        # A plugin package nested in another (video_analysis in face_features) is a plugin of its own.
        nested = [p for p in packages if p != package and p.startswith(package + ".")]
        for path in python_files(folder):
            if is_test(path) or within(module_name(path, base), nested):
                continue
            checked += 1
            for i in imports_of(path, base):
                if not within(i.module, FIRST_PARTY) or i.module in allowed:
                    continue
                if within(i.module, [package]) and not within(i.module, nested):
                    continue
                problems.append(f"{i.source}:{i.line} imports {i.module}")
    assert checked >= 20
    assert problems == []


def test_the_rules_catch_an_arrow_up(tmp_path):
    """The checks read relative imports and `from pkg import module` as the modules they name."""
    pkg = tmp_path / "core" / "web"
    pkg.mkdir(parents=True)
    (tmp_path / "core" / "interviews").mkdir()
    (tmp_path / "core" / "interviews" / "nav.py").write_text("")
    (pkg / "bad.py").write_text("def f():\n    from ..interviews import nav\n    from billing.ledger import x\n")
    assert [i.module for i in imports_of(pkg / "bad.py", tmp_path)] == ["core.interviews.nav", "billing.ledger"]
    assert violations([pkg / "bad.py"], tmp_path, DOMAINS) == [
        "core/web/bad.py:2 imports core.interviews.nav", "core/web/bad.py:3 imports billing.ledger"]
