"""The README's benchmark tables are exactly what the stored JSON renders to."""

from __future__ import annotations

from benchmarks import tables


def test_readme_tables_match_stored_results() -> None:
    assert tables.readme_section(tables.README.read_text()) == tables.render()


def test_strategies_doc_table_matches_stored_results() -> None:
    doc = tables.STRATEGIES_DOC.read_text()
    assert "RESULTS-TABLE" not in doc
    section = tables.readme_section(doc, tables.STRATEGIES_START, tables.STRATEGIES_END)
    assert section == tables.render_strategies()
    assert "| problem | configuration | strategies | rel. L2 |" in section


def test_peer_speed_table_states_targets_met_and_missed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    ratio = {"median": 1.2, "min": 1.1, "max": 1.3}
    step = {
        "network": "3 x 20 tanh",
        "points": "2540 + 80 + 160",
        "steps_per_s": {"pinnopt": 120.0, "pinnopt_compiled": 200.0, "hand": 100.0, "deepxde": 100.0},
        "compile_s": 40.0,
        "load_average": [2.0, 2.0],
        "ratios": {"pinnopt/deepxde": ratio, "pinnopt_compiled/deepxde": {**ratio, "median": 2.0}},
        "target": {"required": 1.5, "eager": 1.2, "compiled": 2.0},
    }
    run = {
        "dtype": "float64",
        "phases": "Adam(steps=2000, lr=0.001) + LBFGS(steps=5000, lr=1.0)",
        "reached": True,
        "steps": 3000,
        "rel_l2": 0.03,
        "wall_s": 50.0,
        "cpu_s": 30.0,
        "time_over_deepxde": 0.25,
    }
    dde = {
        "recipe": "r",
        "dtype": "float32",
        "rel_l2": 0.036,
        "wall_s": 200.0,
        "cpu_s": 150.0,
        "adam_steps": 15000,
        "lbfgs": {"n_iter": 3, "func_evals": 10},
    }
    report = {
        "created": "2026-01-01T00:00:00+00:00",
        "command": "python -m benchmarks.speed_peers",
        "deepxde": "1.15.0",
        "machine": {"torch_threads": 1, "cpu_count": 2},
        "results": {
            "steps": {"burgers_small": step},
            "error": {
                "deepxde": dde,
                "pinnopt": {"defaults_float64": run},
                "target": {"required": 0.5, "best": 0.25},
                "load_average": [2.0, 2.0],
            },
        },
    }
    (tmp_path / "speed_peers.json").write_text(json.dumps(report))
    text = "\n".join(tables.peers_table(tmp_path))
    assert "| burgers_small | 3 x 20 tanh |" in text
    assert ">= x1.5: eager **missed**, compiled met" in text  # eager x1.2 misses, compiled x2.0 meets
    assert "relative L2 **3.600e-02**" in text and "| defaults_float64 | float64 |" in text
    assert "Target <= x0.5 of DeepXDE's time: wall clock met (best x0.25), cpu clock met (best x0.20)" in text
