import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestrator.results import EPOCH_SCHEMA, TRIAL_SCHEMA, ResultsWriter, UnknownColumnWarning, to_table
from orchestrator.storage import RunStorage, redact


def test_child_keeps_uri_options_at_the_end_and_redacts_credentials(tmp_path):
    local = RunStorage.child(str(tmp_path / "results"), "run1")
    assert local.root == str(tmp_path / "results" / "run1") and not local.remote
    assert local.display == local.root
    uri = "s3://key:secret@bucket/sweeps/?endpoint_override=127.0.0.1:9000&scheme=http&region=us-east-1"
    assert redact(uri) == "s3://bucket/sweeps/"
    remote = RunStorage.child(uri, "run1")  # no request is made until something is read or written
    assert (
        remote.remote and remote.root == "bucket/sweeps/run1" and remote.path("epochs") == "bucket/sweeps/run1/epochs"
    )
    assert remote.display == "s3://bucket/sweeps/run1"
    assert redact("/plain/path") == "/plain/path"


def test_writer_keeps_one_row_per_epoch_and_survives_a_restart(tmp_path):
    storage = RunStorage(str(tmp_path / "run"))
    writer = ResultsWriter(storage, "run")
    for epoch in (1, 2, 3):
        writer.add_epoch("t1", {"epoch": epoch, "test_acc": 0.1 * epoch, "outcome": "running", "k": 1})
    writer.add_epoch("t1", {"epoch": 3, "test_acc": 0.3, "outcome": "running", "k": 1})  # re-reported by a retry
    table = pq.read_table(tmp_path / "run" / "epochs" / "t1.parquet")
    assert table.schema.remove_metadata() == EPOCH_SCHEMA and table.column("epoch").to_pylist() == [1, 2, 3]
    assert not [p for p in (tmp_path / "run" / "epochs").iterdir() if p.name.startswith(".")]  # no temp files left

    again = ResultsWriter(storage, "run")  # a new driver (resume) starts from what is on disk
    assert sorted(again.epochs["t1"]) == [1, 2, 3]
    filled = again.fill_from_history(
        "t1", [{"epoch": e, "test_acc": 0.0, "outcome": "running"} for e in (1, 2, 3, 4)], {"k": 1}
    )
    assert filled == 1 and pq.read_table(tmp_path / "run" / "epochs" / "t1.parquet").num_rows == 4
    again.set_trial("t1", {"experiment": "table1/1", "k": 1}, "TERMINATED")
    trials = pq.read_table(tmp_path / "run" / "trials.parquet").to_pylist()
    assert trials[0]["epochs_completed"] == 4 and trials[0]["outcome"] == "stopped"  # ended before "completed"


def test_a_trial_reporting_an_earlier_epoch_restarted_and_its_later_rows_go(tmp_path):
    # restored from an older checkpoint than the rows reach (the newest was unreadable, or Ray knew an older one):
    # the rows after it are the failed attempt's, even if the new attempt then ends earlier (diverges)
    writer = ResultsWriter(RunStorage(str(tmp_path / "run")), "run")
    for epoch in range(1, 7):
        writer.add_epoch("t1", {"epoch": epoch, "test_acc": 0.5, "outcome": "running", "k": 1})
    writer.add_epoch("t1", {"epoch": 4, "test_acc": 0.1, "outcome": "diverged", "k": 1})
    rows = pq.read_table(tmp_path / "run" / "epochs" / "t1.parquet").to_pylist()
    assert [(r["epoch"], r["outcome"]) for r in rows] == [
        (1, "running"),
        (2, "running"),
        (3, "running"),
        (4, "diverged"),
    ]


def test_to_table_fills_missing_columns_with_nulls():
    table = to_table([{"epoch": 1}], EPOCH_SCHEMA)
    assert isinstance(table, pa.Table)
    assert table.schema == EPOCH_SCHEMA and table.column("test_acc").null_count == 1


def test_a_key_the_schema_lacks_is_never_dropped_silently():
    with pytest.raises(UnknownColumnWarning, match="lr_what_typo"):  # pytest.ini_options makes it an error
        to_table([{"epoch": 1, "lr_what_typo": 0.1}], EPOCH_SCHEMA)
    with pytest.warns(UnknownColumnWarning):
        with warnings.catch_warnings():
            warnings.simplefilter("always", UnknownColumnWarning)  # outside the tests: a warning, the row is written
            table = to_table([{"epoch": 1, "lr_what_typo": 0.1}], EPOCH_SCHEMA)
    assert table.column("epoch").to_pylist() == [1]


def test_every_config_key_metric_and_placement_key_has_a_column():
    from trainables import TrainConfig
    from trainables.metrics import all_metric_names
    from trainables.tune_trial import PLACEMENT_FIELDS

    for schema in (EPOCH_SCHEMA, TRIAL_SCHEMA):
        names = set(schema.names)
        assert set(TrainConfig().to_flat()) <= names
        assert set(all_metric_names()) <= names and set(PLACEMENT_FIELDS) <= names
    assert EPOCH_SCHEMA.field("plateau").type == pa.bool_() and EPOCH_SCHEMA.field("k").type == pa.int64()
    assert EPOCH_SCHEMA.field("stop_train_loss").type == pa.float64()


def test_runs_written_by_an_older_version_still_read_and_report(tmp_path):
    """tests/data/golden-table1-1-smoke was written before pack_id and precision existed (a literal old schema):
    it reads with today's schema (the new columns null) and reports."""
    from conftest import exit_code

    from orchestrator.results import read_run

    golden = Path(__file__).parent / "data" / "golden-table1-1-smoke"
    assert "pack_id" not in pq.read_schema(golden / "trials.parquet").names
    data = read_run(str(golden), "results")
    assert len(data.trials) == 1 and len(data.epochs) == 8
    assert data.trials.pack_id.isna().all() and data.epochs.precision.isna().all()
    assert list(data.epochs.sort_values("epoch").test_acc.round(3)) == [0.31] * 8
    assert exit_code(["report", str(golden), "--attention", "0", "--out", str(tmp_path / "report")]) == 0
    assert "table1/1" in (tmp_path / "report" / "report.md").read_text()
