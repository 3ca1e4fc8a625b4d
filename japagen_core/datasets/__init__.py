"""Gold-data importers (JGLUE, JCoLA, Livedoor, generic CSV/TSV/JSONL/Parquet)."""
