"""docs/rules.md (where each SPEC rule lives and which tests cover it) matches the tree,
and nothing cites a rule id the SPEC does not have (a typo would hide a rule's tests)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rule_index():
    spec = importlib.util.spec_from_file_location("rule_index", ROOT / "scripts/rule_index.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rules_doc_is_current():
    index = rule_index()
    committed = (ROOT / "docs/rules.md").read_text(encoding="utf-8")
    assert committed == index.render(), "run: uv run --frozen python scripts/rule_index.py"


def test_every_cited_rule_id_is_a_spec_rule():
    assert rule_index().unknown() == set()


def test_a_test_citing_an_unknown_rule_is_caught(tmp_path, monkeypatch):
    index = rule_index()
    (tmp_path / "tests").mkdir()
    typo = "R-STICKY-" + "9"  # spelt apart so this file does not cite it itself
    (tmp_path / "tests" / "test_x.py").write_text(f"# covers {typo}\n")
    monkeypatch.setattr(index, "ROOT", tmp_path)
    assert index.unknown() == {typo}
