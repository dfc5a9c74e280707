from benchmarks.common import Figure, results_page


def test_a_full_run_writes_every_row():
    page = results_page([Figure("a", "0.5", "≥ 0.6", False)], "python -m benchmarks")
    assert "by `python -m benchmarks`" in page and "| a | 0.5 | ≥ 0.6 | **no** |" in page


def test_a_partial_run_replaces_its_rows_and_keeps_the_others():
    full = results_page([Figure("a", "0.5", "≥ 0.6", False), Figure("b", "1.0", "≥ 0.8", True)],
                        "python -m benchmarks")
    page = results_page([Figure("a", "0.7", "≥ 0.6", True), Figure("c", "2", "reported", True)],
                        "python -m benchmarks bench_a", full)
    rows = [line for line in page.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == ["| a | 0.7 | ≥ 0.6 | yes |", "| b | 1.0 | ≥ 0.8 | yes |",
                        "| c | 2 | reported | yes |"]
    assert "by `python -m benchmarks`." in page  # the full run's line stays
    assert "by `python -m benchmarks bench_a`: the rows it names replace" in page
    assert page.count("Ratios are ours / baseline") == 1
