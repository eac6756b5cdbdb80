"""The README's performance table is the committed bench_all JSON, figure by figure, with its date and load; and
every figure in that JSON carries its target, whether it was met and the machine's load around it."""

from pathlib import Path

from bench.summary import END, START, figures, load_results, readme_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_generated_from_the_committed_json():
    results = load_results()
    text = README.read_text(encoding="utf-8")

    section = text[text.index(START) : text.index(END) + len(END)]

    assert section == readme_table(results)
    assert results["started_at"][:10] in section


def test_every_figure_has_a_target_a_verdict_and_the_load():
    results = load_results()

    # The JSON is written with sorted keys, so the lists come back in another order: compare by name.
    assert sorted(results["figures"], key=lambda figure: figure["name"]) == sorted(
        figures(results), key=lambda figure: figure["name"]
    )
    assert {figure["step"] for figure in results["figures"]} >= {
        "refund_sweep", "dashboard", "admin_changelist", "tracking_ingest", "path1_refund_latency",
    }  # fmt: skip
    for figure in results["figures"]:
        assert figure["target"]
        assert isinstance(figure["met"], bool)
        assert len(figure["load"]["before"]) == 3
    assert results["all_meet_targets"] == all(figure["met"] for figure in results["figures"])


def test_the_table_says_when_a_target_is_not_met():
    results = load_results()
    results["figures"] = [{**results["figures"][0], "met": False}]

    assert "| no |" in readme_table(results)


def test_the_rate_row_says_what_a_ticket_cost_in_cpu_when_the_run_measured_it():
    results = load_results()
    results["path1_refund_latency"] = {
        **results["path1_refund_latency"],
        "cpu_ms_per_ticket": {"clients": 37.6, "clients_postgresql": 11.1, "worker": None},
    }

    (rate,) = [figure for figure in figures(results) if figure["name"] == "burst of path-1 tickets: rate reached"]

    assert rate["note"].endswith("CPU a ticket clients 37.6 ms + clients_postgresql 11.1 ms")
