"""cityfocus's benchmarks, beside the library: the forecast and decision benchmark runners,
their aims and their Markdown. They read each dataset's card and call cityfocus like any
user; the library never imports them (``cityfocus benchmark`` is the one door in)."""
