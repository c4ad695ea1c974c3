"""softswitchd.import_command: how a numbers CSV becomes API bodies, and the files it
refuses before sending anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from softswitchd.api_client import ClientError
from softswitchd.import_command import number_rows


def test_rows_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text(
        "\ufeffNumber, Destination ,closed,hours\n"
        "+15550100,extension:101,,\n"
        ",,,\n"
        '+15550101,flow:menu,extension:101,"{""time_zone"": ""UTC""}"\n'
    )
    assert number_rows(path) == [
        (2, {"number": "+15550100", "destination": "extension:101"}),
        (
            4,
            {
                "number": "+15550101",
                "destination": "flow:menu",
                "closed": "extension:101",
                "hours": {"time_zone": "UTC"},
            },
        ),
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("number\n+1555\n", "must name number and destination"),
        ("number,destination,owner\n1,extension:101,x\n", r"unknown column\(s\): owner"),
        ("number,destination,hours\n1,extension:101,{not json\n", "line 2: hours is not JSON"),
        ("number,destination\n", "no rows to import"),
        (b"number,destination\n\xff\xfe,x\n", "not UTF-8"),
    ],
)
def test_files_refused_before_any_request(tmp_path: Path, content: str | bytes, words: str) -> None:
    path = tmp_path / "n.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ClientError, match=words):
        number_rows(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="No such file"):
        number_rows(tmp_path / "nope.csv")
