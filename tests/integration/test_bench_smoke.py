"""Every benchmark once, at tiny sizes: they run, and the report they write says what
they measured. (The real runs are `python -m bench`, not part of the suite.)"""

from __future__ import annotations

import pytest

from bench import engine_tokens
from bench.__main__ import main


@pytest.mark.timeout(300)
def test_every_benchmark_runs_at_tiny_sizes(tmp_path, capsys):
    out = tmp_path / "benchmarks.md"
    assert main(["--quick", "--out", str(out)]) == 0
    report = out.read_text()
    assert "| 100 |" in report, "observe: the 100-element page"
    for design in (
        "| skyq | 1 |",
        "| skyq without video | 1 |",
        "| skyq, threads pool | 1 |",
        "| plain playwright | 1 |",
        "| launch per run | 1 |",
    ):
        assert design in report
    for section in (
        "## Queue latency and enqueue rate",
        "## Worker memory (whole process tree, PSS)",
        "## skyq's share of a run with a 1 s model",
        "## Scaling and per-run cost to the shared services",
        "100 nodes like this one",
    ):
        assert section in report
    for pool in ("| prefork |", "| threads |"):
        assert pool in report, "memory: both pools"
    assert "runs/min" in capsys.readouterr().out


def test_an_unknown_benchmark_is_named(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["observe", "nonsense"])
    assert exit_.value.code == 2
    assert "no benchmark nonsense" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["skyvern-2.0", "anthropic-cua"])
def test_the_engine_token_bench_prices_a_run(fake_llm_server, sites, room, loop, engine):
    row = engine_tokens.measure(engine, fake_llm_server, sites, room, loop, "long.html")
    # Every turn carries a screenshot; the skyvern engines' also the article's text.
    assert row["first_turn"] > (2_000 if engine == "skyvern-2.0" else 1_229)
    assert row["steps"] == (5 if engine == "skyvern-2.0" else 4)  # a plan step more
    assert row["run"] >= row["per_step"] * row["steps"] - row["steps"]
