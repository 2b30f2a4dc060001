"""The package installs: `pip install .` gives an `ivr` command; `python -m ivr` keeps working.
And its layout stays the design: no import circles between modules or between the folders."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import MAIN_MENU, ROOT


def test_pip_install_gives_an_ivr_command(tmp_path):
    """`pip install` of the package into a virtual environment of its own, with nothing from the
    operating system's Python: a venv made with --system-site-packages sees the *base*
    interpreter's packages (an old setuptools, no flask), not those of the environment running
    these tests, so it failed in a newcomer's fresh venv."""
    source = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:  # a clean copy: building must not litter the checkout
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, source / name)
    quiet = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    # Built by this environment's own setuptools and wheel (requirements-dev.txt): nothing downloaded.
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(source)]
    subprocess.run(build, check=True, timeout=300, env=quiet)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    # The package's dependencies come from the environment running these tests (README's command
    # installed them there), listed after the venv's own site-packages; the checkout is not among them.
    own = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True, check=True
    )
    ours = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    (Path(own.stdout.strip()) / "tested-environment.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    (wheel,) = wheels.glob("*.whl")
    install = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(install, check=True, timeout=300, env=quiet)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [str(venv / "bin" / "ivr"), "validate", str(MAIN_MENU)], cwd=elsewhere, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "valid - 14 nodes, languages en, es" in result.stdout
    installed = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import ivr, ivr.sim; print(ivr.__file__); print(Path(ivr.sim.__file__).parent / 'templates' / 'simulator.html')".replace(
                "Path", "__import__('pathlib').Path"
            ),
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert str(venv) in installed[0] and Path(installed[1]).is_file()  # the browser phone's page came along
    # The speech data came along too: the built-in phrases and the word model, read from the install.
    understood = subprocess.run(
        [
            python,
            "-c",
            "from ivr.speech import model, phrases; print(model.MODEL); print(len(phrases.floor()), model.shipped() is not None)",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert str(venv) in understood[0] and understood[1:] == ["6", "True"]


def test_ci_runs_readmes_test_command_in_a_fresh_venv():
    """CI runs README's test command as README writes it, inside a virtual environment it makes
    from nothing: a newcomer's setup, not the system Python with whatever it already holds."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    command = ci[-1]
    assert command in readme and "pytest" in command
    made = [i for i, line in enumerate(ci) if line.startswith("python3 -m venv ")]
    activated = [i for i, line in enumerate(ci) if line.startswith(". ") and line.endswith('/bin/activate"')]
    assert made and activated and made[0] < activated[0] < len(ci) - 1
    assert "--system-site-packages" not in ci[made[0]]


def test_python_dash_m_ivr_still_works():
    result = subprocess.run([sys.executable, "-m", "ivr", "validate", str(MAIN_MENU)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "valid" in result.stdout


def _imports(path: Path) -> set[str]:
    """The ivr modules a file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name == "__init__.py":
        package += ".__init__"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            targets = [name] + [f"{name}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t.startswith("ivr"))
    return found


def test_no_import_circles_between_modules_or_folders():
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for p in (ROOT / "ivr").rglob("*.py")}
    graph = {name: {t for t in _imports(path) if t in modules and t != name} for name, path in modules.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return trail + [start]
                if nxt not in trail and len(trail) < 30:
                    stack.append((nxt, trail + [nxt]))
        return None

    # a package's __init__ re-exports its own modules; those edges are not circles of design
    graph = {n: {t for t in deps if not (n.startswith(t + ".") or t.startswith(n + "."))} for n, deps in graph.items()}
    circles = [c for c in (cycle_from(n) for n in graph) if c]
    assert not circles, circles[0]

    layer = {"speech": 0, "menu": 1, "line": 2, "staff": 3, "sim": 3, "deploy": 3, "stats": 3}  # a folder may use only folders below it
    for name, deps in graph.items():
        parts = name.split(".")
        if len(parts) < 3 or parts[1] not in layer:
            continue
        for dep in deps:
            dep_folder = dep.split(".")[1] if dep.count(".") else ""
            if dep_folder in layer and dep_folder != parts[1]:
                assert layer[dep_folder] < layer[parts[1]], f"{name} imports {dep}"
