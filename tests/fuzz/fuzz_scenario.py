"""Coverage-guided fuzzing (atheris) of the scenario loader and the simulator.

Run: ``python3 tests/fuzz/fuzz_scenario.py -max_total_time=600 [CORPUS_DIR]``
(seed the corpus with resources/scenarios/*.json).
Contract: any text gives a Scenario or a ScenarioError, and simulating a loaded
scenario never raises.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def one_input(data: bytes) -> None:
    """The fuzz target: load, and simulate what loads."""
    from engine.errors import ScenarioError
    from engine.scenario import dumps, loads
    from engine.simulate import simulate

    text = data.decode("utf-8", "replace")
    try:
        scenario = loads(text)
    except ScenarioError:
        return
    assert loads(dumps(scenario)) == scenario
    simulate(scenario)


def main() -> None:
    from tests.fuzz import run

    run(one_input, ["engine.scenario", "engine.simulate"])


if __name__ == "__main__":
    main()
