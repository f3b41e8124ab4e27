"""How the code is put together: one owner per name list, one-way imports, commands that don't import each other."""

import ast
import re
from pathlib import Path

import pytest

from orchestrator.cli import build_parser
from trainables import MosaicSpec, StageSchedule, TrainConfig
from trainables.config import FLAT_FIELDS, FLAT_KEYS

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved against its package)."""
    package = path.parent.name
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"{package}.{base}" if base else package
                names.update(f"{base}.{a.name}" for a in node.names if not node.module)
            names.add(base)
    return names


def test_command_modules_never_import_each_other():
    commands = sorted((ROOT / "orchestrator").glob("*_cmd.py"))
    assert {p.stem for p in commands} == {"spaces_cmd", "run_cmd", "train_cmd", "report_cmd"}
    for path in commands:
        others = {f"orchestrator.{p.stem}" for p in commands if p != path}
        assert not imported_modules(path) & others, path.name


@pytest.mark.parametrize(
    "package, forbidden", [("trainables", ("orchestrator", "search_spaces")), ("search_spaces", ("orchestrator",))]
)
def test_imports_flow_one_way(package, forbidden):
    for path in (ROOT / package).glob("*.py"):
        bad = {m for m in imported_modules(path) if m.split(".")[0] in forbidden}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_writeup_copy_is_not_part_of_the_installed_package():
    assert not (ROOT / "trainables" / "writeup.py").exists() and (ROOT / "benchmarks" / "writeup.py").exists()


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"### Run the tests\s+```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    assert block in (ROOT / ".ci" / "run").read_text().splitlines()
    assert "ruff check" in block and "ruff format --check" in block


def test_every_flat_config_key_is_a_train_flag_and_round_trips():
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    dests = {a.dest for a in train._actions}
    assert set(FLAT_KEYS) <= dests
    assert FLAT_KEYS == tuple(TrainConfig().to_flat())  # to_flat lists exactly the declared keys, in order
    args = build_parser().parse_args(
        ["train", "--k", "3", "--epochs", "12", "--plateau", "--n-val", "10", "--stop-train-loss", "0.1"]
    )
    given = {f.name: getattr(args, f.name) for f in FLAT_FIELDS}
    assert given["what_lr"] is None  # a flag not given is None: the default, or a --state file's own value
    config = TrainConfig.from_flat({k: v for k, v in given.items() if v is not None})
    assert (config.schedule.k, config.plateau, config.mosaic.n_val, config.stop_train_loss) == (3, True, 10, 0.1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: StageSchedule(k=True, epochs=2),
        lambda: StageSchedule(k=1, epochs=True),
        lambda: MosaicSpec(grid=True),
        lambda: MosaicSpec(n_train=True),
        lambda: MosaicSpec(n_val=False),
        lambda: MosaicSpec(seed=True),
        lambda: MosaicSpec(foreground=(True, 8, 9)),
        lambda: TrainConfig(batch_size=True),
        lambda: TrainConfig(seed=False),
        lambda: TrainConfig(plateau=1),
    ],
)
def test_booleans_are_not_integers_anywhere(make):
    with pytest.raises(ValueError):
        make()


def test_in_ci_a_skipped_test_fails(pytester, monkeypatch):
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text())
    pytester.makepyfile(
        "import pytest\n\ndef test_needs_data():\n    pytest.skip('official CIFAR-10 copy not present')\n"
    )
    monkeypatch.setenv("CI", "true")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
    monkeypatch.setenv("CI", "false")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(skipped=1)
