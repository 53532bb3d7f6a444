"""Models: which model serves which use (and its usage on record); intent classifiers trained and promoted."""
