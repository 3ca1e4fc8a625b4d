"""Review: append-only review events (flag, relabel, note, undo), the suspected-mislabel queue,
immutable snapshots of reviewed data, and the KADG word-list versions."""
