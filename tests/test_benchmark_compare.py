"""benchmarks/compare.py: the engines table (missing engines as n/a) and its README block."""

from __future__ import annotations

import pandas as pd

from benchmarks.compare import README_END, README_START, table_markdown, write_readme


def _records():
    return pd.DataFrame([
        {"case": "ct", "setting": "ibsi", "mode": "warm", "engine": "radiomix", "seconds": 0.5, "peak_rss_mib": 400.0},
        {"case": "ct", "setting": "ibsi", "mode": "warm", "engine": "pyradiomics", "seconds": 2.0,
         "peak_rss_mib": 300.0},
        {"case": "ct", "setting": "ibsi", "mode": "warm", "engine": "nyxus", "seconds": None,
         "problem": "not expressible"},
    ])


def test_table_has_one_column_per_engine_and_n_a_for_missing():
    markdown = table_markdown(_records())
    header = markdown.splitlines()[0]
    assert header.index("radiomix") < header.index("pyradiomics") < header.index("nyxus")
    assert "0.5 s / 400 MiB" in markdown and "2 s / 300 MiB" in markdown and "n/a" in markdown


def test_readme_block_is_added_once_then_replaced(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Benchmarks\n\ntext\n\n## Layout\n\nend\n")
    write_readme(readme, "| first |", ["note"])
    write_readme(readme, "| second |", ["note"])
    text = readme.read_text()
    assert text.count(README_START) == 1 and text.count(README_END) == 1
    assert "| second |" in text and "| first |" not in text
    assert text.index("## Benchmarks") < text.index(README_START) < text.index("## Layout")
