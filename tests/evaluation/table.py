"""The shared evaluation table (table.json): the client and the server must answer each case
alike."""

import json
from pathlib import Path

TABLE = json.loads((Path(__file__).parent / "table.json").read_text())
CASES = TABLE["cases"]
CASE_IDS = [case["case"] for case in CASES]


def expected(case: dict) -> dict:
    """What the case says the context gets."""
    return {
        "value": case["value"],
        "variant": case["variant"],
        "reason": case["reason"],
        "error": case.get("error"),
    }
