"""docs/capacity.md and the README's Capacity section say what the committed bench run measured:
their generated tables equal what `bench.capacity.model` renders from `bench/capacity/latest.json`."""

from __future__ import annotations

import pytest

from bench.capacity import model


@pytest.fixture(scope="module")
def latest() -> dict[str, object]:
    return model.load()


def test_the_doc_quotes_the_latest_bench_run(latest: dict[str, object]) -> None:
    text = model.DOC.read_text()
    assert model.render_doc(text, latest) == text, (
        "docs/capacity.md differs from bench/capacity/latest.json: run "
        "`python -m bench.capacity.model --write` (after the bench, if its units changed)"
    )


def test_the_readme_quotes_the_latest_bench_run(latest: dict[str, object]) -> None:
    text = model.README.read_text()
    assert model.render_readme_text(text, latest) == text, (
        "the README's Capacity section differs from bench/capacity/latest.json: run "
        "`python -m bench.capacity.model --write`"
    )


def test_every_unit_the_doc_lists_was_measured(latest: dict[str, object]) -> None:
    units = latest["units"]
    assert isinstance(units, dict)
    assert set(model.UNIT_LABELS) <= set(units)


def test_a_changed_measurement_shows_in_the_doc(latest: dict[str, object]) -> None:
    """The check above has teeth: one figure more per booking changes the rendered page."""
    import copy

    text = model.DOC.read_text()
    changed = copy.deepcopy(latest)
    changed["units"]["booking"]["table_transactions"] += 1  # type: ignore[index]
    assert model.render_doc(text, changed) != text
