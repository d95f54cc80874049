"""Pure lifecycle logic (no Django): the event wire shape, its validation, and the fold that
turns the set of distinct events of a call into its record."""
