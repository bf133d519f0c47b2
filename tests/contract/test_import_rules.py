"""The import rules in pyproject.toml ([tool.importlinter]) hold, and they cover the modules they
are about: every gateway module that declares routes is in the route rule (and in
gateway.routes), every other gateway module is in the rule that keeps it from importing
routes, every module whose docstring says it is pure is in the pure rule.

By hand: `uv run --frozen lint-imports` (prints each broken rule with the import chain)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = ROOT / "services/gateway/src/switchboard/gateway"

# Modules that call themselves pure in their docstring but are not (yet): each with the reason.
NOT_PURE_YET = {
    # The router package docstring names its pure modules; the package itself is not one.
    "switchboard.router",
    # Handlers apply the pure `decide`; they are the I/O around it.
    "switchboard.router.handlers",
}


def _contract(contract_id: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["id"] == contract_id)


def _module_name(path: Path) -> str:
    src = next(p for p in path.parents if p.name == "src")
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return [
        p
        for base in ("libs", "services")
        for p in sorted((ROOT / base).glob("*/src/switchboard/**/*.py"))
        if "migrations" not in p.parts
    ]


def test_import_rules_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _gateway_modules() -> list[Path]:
    return [p for p in sorted(GATEWAY.rglob("*.py")) if "migrations" not in p.parts]


def test_every_gateway_route_module_is_in_the_route_rule() -> None:
    declaring = {
        _module_name(p)
        for p in _gateway_modules()
        if p.name != "app.py" and "APIRouter(" in p.read_text()
    }
    listed = set(_contract("gateway-routes-independent")["modules"])
    assert declaring == listed
    # Routes live in gateway.routes, one module per noun, and nothing else does.
    assert all(m.startswith("switchboard.gateway.routes.") for m in declaring)
    routes = {_module_name(p) for p in (GATEWAY / "routes").glob("*.py")}
    assert routes - {"switchboard.gateway.routes"} == declaring


def test_no_shared_gateway_module_imports_a_route() -> None:
    """Every gateway module outside routes/ (but app.py, which mounts them) is in the rule
    that forbids importing a route module: code two routes share lives outside routes/."""
    shared = set()
    for path in _gateway_modules():
        parts = path.relative_to(GATEWAY).parts
        if parts[0] in ("routes", "app.py", "__init__.py"):
            continue
        # A package (readmodel/) is listed whole.
        shared.add(f"switchboard.gateway.{parts[0].removesuffix('.py')}")
    listed = set(_contract("gateway-routes-only-in-routes")["source_modules"])
    assert shared == listed


def test_every_module_that_says_pure_is_in_the_pure_rule() -> None:
    says_pure = set()
    for path in _sources():
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        first_paragraph = doc.split("\n\n")[0].lower()
        if "pure" in first_paragraph or "no i/o" in first_paragraph:
            says_pure.add(_module_name(path))
    listed = set(_contract("pure-modules")["source_modules"])
    # A listed package (e.g. switchboard.pm_sync.domain) covers every module under it.
    covered = {m for m in says_pure if any(m.startswith(f"{p}.") for p in listed)}
    missing = says_pure - listed - covered - NOT_PURE_YET
    assert not missing, f"say they are pure but the import rule does not check them: {missing}"
