"""The internal APIs' committed JSON Schemas (libs/events/internal-schemas/) are the models'.

If this fails after a model change: run `make schemas` and commit the files (and make sure
every caller of the changed API still reads what it is sent)."""

import json

import pytest

from switchboard.events.internal.schemas import SCHEMA_DIR, models, render


@pytest.mark.parametrize("name", sorted(models()))
def test_committed_internal_schema_is_up_to_date(name):
    path = SCHEMA_DIR / f"{name}.json"
    assert path.exists(), f"{path.name} is not committed: run `make schemas`"
    assert json.loads(path.read_text()) == json.loads(render(name)), (
        f"{path.name} differs from the model: run `make schemas` and commit"
    )


def test_no_schema_file_without_a_model():
    committed = {p.name for p in SCHEMA_DIR.glob("*.json")}
    assert committed == {f"{name}.json" for name in models()}


def test_every_serving_service_has_its_models():
    services = {name.split(".")[0] for name in models()}
    assert {"router", "pm_sync", "ingest", "notifier"} <= services
