"""The bottom layer: vocabulary and plumbing that every app shares and that imports none of
them (``integrations``, ``events``, ``devtools`` and ``project`` all sit above it)."""
