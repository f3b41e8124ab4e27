"""The `mosaic-sweep` command: Ray connection, Tuner, Parquet results, reports."""
