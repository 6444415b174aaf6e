"""docs/plugins.md documents every hook with its arguments and a working example (as datasette's
tests/test_docs.py does for its hooks), and the metadata classes field by field."""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
from pathlib import Path

import pytest

from core import hookspecs
from core.features import ExtractionInput
from core.plugins import Meter, NavItem, PluginMeta

PLUGINS_MD = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
HOOK_HEADING = re.compile(r"^## (mendan_\w+)\((.*)\)\s*$", re.MULTILINE)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def hooks_of(module: types.ModuleType) -> dict[str, list[str]]:
    """Hook name -> argument names, for every hookspec in `module`."""
    return {
        name: list(inspect.signature(fn).parameters)
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if hasattr(fn, "mendan_spec")
    }


def documented_hooks(text: str) -> dict[str, tuple[list[str], str]]:
    """Hook name -> (documented arguments, the text of its section)."""
    headings = list(HOOK_HEADING.finditer(text))
    found = {}
    for i, match in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        section = text[match.end():end]
        section = section.split("\n## ", 1)[0]  # a following non-hook heading ends it too
        args = [a.strip() for a in match.group(2).split(",") if a.strip()]
        found[match.group(1)] = (args, section)
    return found


def doc_problems(text: str, hooks: dict[str, list[str]]) -> list[str]:
    """Everything wrong with the hook documentation in `text`, for the hooks in `hooks`."""
    documented = documented_hooks(text)
    problems = []
    for name, args in sorted(hooks.items()):
        if name not in documented:
            problems.append(f"{name} is not documented")
            continue
        doc_args, section = documented[name]
        if doc_args != args:
            problems.append(f"{name}: documented arguments {doc_args}, hookspec has {args}")
        blocks = PYTHON_BLOCK.findall(section)
        if not blocks:
            problems.append(f"{name} has no ```python example")
        for block in blocks:
            try:
                compile(block, f"docs/plugins.md:{name}", "exec")
            except SyntaxError as exc:
                problems.append(f"{name}: example does not compile: {exc}")
        if not any(f"def {name}(" in block for block in blocks):
            problems.append(f"{name}: no example implements it")
    for name in sorted(set(documented) - set(hooks)):
        problems.append(f"{name} is documented but is not a hook")
    return problems


@pytest.fixture(scope="module")
def plugins_md() -> str:
    return PLUGINS_MD.read_text(encoding="utf-8")


def test_there_are_hooks_to_document():
    assert len(hooks_of(hookspecs)) >= 10


def test_every_hook_is_documented_with_its_arguments_and_an_example(plugins_md):
    assert doc_problems(plugins_md, hooks_of(hookspecs)) == []


def test_the_check_fails_for_an_undocumented_hook_or_argument(plugins_md):
    """The check itself: a hook added to the specs without docs is reported."""
    extra = types.ModuleType("extended_hookspecs")
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        setattr(extra, name, fn)

    @hookspecs.hookspec
    def mendan_brand_new_hook(tenant_id, interview):
        """Not in the docs."""

    @hookspecs.hookspec
    def mendan_nav_items(tenant, user, request):
        """The documented one plus an argument."""

    extra.mendan_brand_new_hook = mendan_brand_new_hook
    extra.mendan_nav_items = mendan_nav_items
    assert doc_problems(plugins_md, hooks_of(extra)) == [
        "mendan_brand_new_hook is not documented",
        "mendan_nav_items: documented arguments ['tenant', 'user'], hookspec has ['tenant', 'user', 'request']",
    ]
    broken = plugins_md.replace("def mendan_actors():", "def mendan_actors(:")
    assert any("mendan_actors: example does not compile" in p for p in doc_problems(broken, hooks_of(hookspecs)))


@pytest.mark.parametrize(
    "cls, heading",
    [(PluginMeta, "PluginMeta"), (NavItem, "NavItem"), (Meter, "Meter"), (ExtractionInput, "FeatureExtractor")],
)
def test_metadata_fields_are_documented(plugins_md, cls, heading):
    section = plugins_md.split(f"\n### {heading}\n", 1)[1].split("\n#", 1)[0]
    code_spans = " ".join(re.findall(r"`([^`]+)`", section))
    missing = [f.name for f in dataclasses.fields(cls) if not re.search(rf"\b{f.name}\b", code_spans)]
    assert missing == [], f"{cls.__name__} fields missing from the {heading} section of docs/plugins.md"


def test_the_packaging_section_names_the_entry_point_group(plugins_md):
    assert '[project.entry-points."mendan.plugins"]' in plugins_md


INCLUDE = re.compile(r"^<!-- include: (\S+)#(\w+) -->\n```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def marked_region(path: Path, name: str) -> str:
    """The lines between `# [start:name]` and `# [end:name]` of a file."""
    match = re.search(rf"^# \[start:{name}\]\n(.*?)^# \[end:{name}\]\n", path.read_text(encoding="utf-8"),
                      re.MULTILINE | re.DOTALL)
    assert match, f"{path} has no region {name}"
    return match.group(1)


def test_the_testing_examples_are_the_example_plugins_real_tests(plugins_md):
    """datasette's literalinclude idea: the code in "Testing your plugin" is copied from tests that
    run (.ci/run runs examples/mendan-hello's tests from its own folder), and must stay equal."""
    root = PLUGINS_MD.parent.parent
    included = INCLUDE.findall(plugins_md)
    assert {name for _path, name, _code in included} == {"register", "page", "settings"}
    for path, name, code in included:
        assert code == marked_region(root / path, name), f"docs/plugins.md's copy of {path}#{name} differs"
