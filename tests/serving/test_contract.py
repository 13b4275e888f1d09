"""serving.contract: the one check-result definition, its schema file, and its lightness."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from serving.contract import SCHEMA_PATH, CheckResult, Face, ModelsAnswer, Verdict, schema_text


def test_checked_in_schema_is_the_contract() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "serving/check_result.schema.json is stale: run `python -m serving.contract`"
    )


def test_the_contract_imports_no_torch_ray_or_bot() -> None:
    code = "import sys, serving.contract; print(sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'ray', 'bot', 'cv2'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_values_are_validated_and_rounded_even_on_assignment() -> None:
    result = CheckResult(verdict=Verdict.REAL, fake_probability=0.12345678, timings_ms={"total": 1.23456})
    assert result.fake_probability == 0.123457 and result.to_json()["timings_ms"] == {"total": 1.23}
    result.fake_probability = 0.9876543
    assert result.fake_probability == 0.987654
    with pytest.raises(ValidationError):
        result.fake_probability = 1.5
    with pytest.raises(ValidationError):
        CheckResult(verdict="maybe")
    with pytest.raises(ValidationError):
        CheckResult(verdict=Verdict.REAL, unknown_key=1)


def test_json_round_trip() -> None:
    result = CheckResult(
        verdict=Verdict.FAKE, fake_probability=0.9, faces=[Face(box=(1, 2, 3, 4), fake_probability=0.9)]
    )
    again = CheckResult.model_validate(json.loads(json.dumps(result.to_json())))
    assert again == result and again.to_json()["faces"][0]["box"] == [1, 2, 3, 4]


def test_served_versions_ignore_lineage_inside_cards() -> None:
    answer = ModelsAnswer.model_validate({
        "models": [{"task": "image", "name": "a", "version": "2.0.0", "trained": True},
                   {"task": "video", "name": "b", "version": "1.0.0", "trained": True}],
        "image": {"version": "2.0.0", "training": {"data": {"initialised_from": {"version": "1.6.0"}}}},
    })  # fmt: skip
    assert answer.served_versions() == {"2.0.0", "1.0.0"}
