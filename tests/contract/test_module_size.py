"""Small modules: a production module over 400 lines says why at its top ("Its size: ..."
in its docstring), so a newcomer knows the length is chosen, not grown (issue 20)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400


def production_modules() -> list[Path]:
    roots = [ROOT / "libs", ROOT / "services", ROOT / "tools"]
    return sorted(
        p
        for r in roots
        for p in r.rglob("*.py")
        if "migrations" not in p.parts and ".venv" not in p.parts and "__pycache__" not in p.parts
    )


def test_every_long_module_gives_the_reason_for_its_size():
    unexplained = []
    for path in production_modules():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= LIMIT:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "Its size:" not in doc:
            unexplained.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert not unexplained, f"over {LIMIT} lines with no reason at the top: {unexplained}"
