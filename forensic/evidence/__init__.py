"""Evidence: see hits (frames, HTML report), keep them (clip export with a verifiable manifest) and
account for every search (hash-chained audit log). No UI here: the CLI wires these modules."""
