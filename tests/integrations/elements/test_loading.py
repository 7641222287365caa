from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.elements import ELEMENTS_DIR, read_element_file
from integrations.models import Element

pytestmark = pytest.mark.django_db


def load(*paths) -> list[str]:
    out = StringIO()
    call_command("load_elements", *[str(path) for path in paths], stdout=out)
    return out.getvalue().splitlines()


def write(path, definition) -> None:
    path.write_text(json.dumps(definition), encoding="utf-8")


def desk_definition(**overrides):
    return read_element_file(ELEMENTS_DIR / "desk.json") | overrides


def test_it_creates_the_shipped_elements():
    assert load() == ["created desk", "created github"]
    assert Element.objects.get(key="desk").hub == "helpdesk"


def test_it_leaves_an_unchanged_element_untouched_on_a_second_run():
    load()
    before = Element.objects.get(key="desk").updated_at

    assert load() == ["unchanged desk", "unchanged github"]
    assert Element.objects.get(key="desk").updated_at == before


def test_it_updates_an_element_whose_file_changed(tmp_path):
    load()
    write(tmp_path / "desk.json", desk_definition(name="Desk.com (EU)"))

    assert load(tmp_path / "desk.json") == ["updated desk"]
    assert Element.objects.get(key="desk").name == "Desk.com (EU)"


def test_it_loads_every_definition_in_a_directory(tmp_path):
    write(tmp_path / "desk.json", desk_definition())
    write(tmp_path / "desk-eu.json", desk_definition(key="desk-eu"))

    assert load(tmp_path) == ["created desk-eu", "created desk"]


def test_it_saves_nothing_when_any_definition_is_invalid(tmp_path):
    write(tmp_path / "desk.json", desk_definition())
    write(tmp_path / "zendesk.json", {"key": "zendesk", "hub": "helpdesk"})

    with pytest.raises(CommandError) as failure:
        load(tmp_path)

    assert f"{tmp_path / 'zendesk.json'}: name: required" in str(failure.value)
    assert not Element.objects.exists()


def test_it_lists_every_problem_of_an_invalid_file(tmp_path):
    write(tmp_path / "bad.json", desk_definition(name="", pagination={"type": "offset"}))

    with pytest.raises(CommandError) as failure:
        load(tmp_path / "bad.json")

    lines = str(failure.value).splitlines()
    assert f"{tmp_path / 'bad.json'}: name: must be a non-empty string" in lines
    assert (
        f"{tmp_path / 'bad.json'}: pagination.type: must be one of hal, page, cursor, link, none"
        in lines
    )


def test_it_points_at_the_line_of_a_json_syntax_error(tmp_path):
    (tmp_path / "broken.json").write_text('{\n  "key": "broken",\n}\n', encoding="utf-8")

    with pytest.raises(
        CommandError, match=r"broken.json: not valid JSON \(.* at line 3, column 1\)"
    ):
        load(tmp_path / "broken.json")


def test_it_rejects_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(CommandError, match="missing.json: no such file or directory"):
        load(tmp_path / "missing.json")


def test_it_rejects_two_files_defining_the_same_key(tmp_path):
    write(tmp_path / "a.json", desk_definition())
    write(tmp_path / "b.json", desk_definition(name="Another Desk"))

    with pytest.raises(CommandError, match=r'b.json: key "desk" is also defined in .*a.json'):
        load(tmp_path)

    assert not Element.objects.exists()
