"""The report stage: analysis, statistics, Markdown/HTML rendering, plots and the safety case."""
