"""softswitch.campaigns.csvimport: contacts from an uploaded CSV, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from softswitch.campaigns.csvimport import (
    CONTACT_COLUMNS,
    DND_COLUMNS,
    MAX_CSV_ROWS,
    CsvColumns,
    read_csv,
)
from softswitch.campaigns.errors import CampaignError, ErrorKind
from softswitch.store.lists import Contact


def write(tmp_path: Path, text: str | bytes, name: str = "list.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path, columns: CsvColumns = CONTACT_COLUMNS) -> CampaignError:
    with pytest.raises(CampaignError) as caught:
        read_csv(path, columns)
    return caught.value


def test_header_names_the_columns_and_the_others_are_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Contact_Name,city,Contact_Number,balance\n"
        "Ankit,Pune,+91 99792-70001,500\n"
        "Ravi,,(919) 979.270002\n",
    )
    assert read_csv(path, CONTACT_COLUMNS) == [
        Contact("Ankit", "919979270001", {"city": "Pune", "balance": "500"}),
        # a short row: the missing cells are empty fields
        Contact("Ravi", "919979270002", {"city": "", "balance": ""}),
    ]


def test_without_header_name_number_then_numbered_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "Ankit,919979270001,Jayswal,500\n Ravi , 919979270002 ,x,y\n")
    assert read_csv(path, CONTACT_COLUMNS) == [
        Contact("Ankit", "919979270001", {"field1": "Jayswal", "field2": "500"}),
        Contact("Ravi", "919979270002", {"field1": "x", "field2": "y"}),
    ]


def test_a_single_column_is_the_number(tmp_path: Path) -> None:
    path = write(tmp_path, "919979270001\n\n  \n919979270002\n")
    # as it has always been: the default header's second name (contact_number) is left
    # over as an empty field (see the refactor's report; kept, no behaviour change)
    assert read_csv(path, CONTACT_COLUMNS) == [
        Contact("", "919979270001", {"contact_number": ""}),
        Contact("", "919979270002", {"contact_number": ""}),
    ]
    assert read_csv(path, DND_COLUMNS) == [Contact("", "919979270001"), Contact("", "919979270002")]


def test_dnd_columns_keep_no_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "dnd_contact_name,dnd_contact_number,note\nx,919979270001,keep out\n")
    assert read_csv(path, DND_COLUMNS) == [Contact("x", "919979270001")]
    # the contact-list headers are accepted for a DND list too
    path = write(tmp_path, "name,phone\ny,919979270002\n", "dnd2.csv")
    assert read_csv(path, DND_COLUMNS) == [Contact("y", "919979270002")]


def test_bad_lines_are_named_and_nothing_is_imported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name,number\nok,919979270001\nno number,\nletters,call-me\n\nlate,12a\n",
        "bad.csv",
    )
    error = refusal(path)
    assert error.kind is ErrorKind.INVALID
    # line numbers are the file's (blank lines counted), header included
    assert error.message == (
        "bad.csv: nothing imported; line 3: no number; line 4: 'call-me' is not a phone "
        "number; line 6: '12a' is not a phone number"
    )


def test_only_five_bad_lines_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "".join(f"x{i}\n" for i in range(8)), "bad.csv")
    message = refusal(path).message
    assert message.count("line ") == 5
    assert "line 5:" in message and "line 6:" not in message
    assert message.endswith(" (and 3 more)")


def test_utf8_bom_and_non_ascii_names(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffcontact_name,contact_number\nJosé,919979270001\n".encode())
    # the BOM does not stick to the first header: the header row is recognised
    assert read_csv(path, CONTACT_COLUMNS) == [Contact("José", "919979270001")]


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "name,number\nJos\xe9,919979270001\n".encode("latin-1"), "l1.csv")
    error = refusal(path)
    assert (error.kind, error.message) == (ErrorKind.INVALID, "l1.csv: not UTF-8 text")


@pytest.mark.parametrize("text", ["", "\n \n", " , \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    error = refusal(write(tmp_path, text, "empty.csv"))
    assert error.message == "empty.csv: no contacts in the file"


def test_a_header_alone_has_no_contacts(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "contact_name,contact_number\n", "head.csv"))
    assert error.message == "head.csv: no contacts in the file"


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    error = refusal(tmp_path / "gone.csv")
    assert error.kind is ErrorKind.NOT_FOUND
    assert error.message == "gone.csv: no such file in the upload area"


def test_too_many_rows(tmp_path: Path) -> None:
    # MAX_CSV_ROWS contacts plus a header are fine; one more row is not
    rows = "919979270001\n" * (MAX_CSV_ROWS + 2)
    error = refusal(write(tmp_path, rows, "big.csv"))
    assert error.message == f"big.csv: more than {MAX_CSV_ROWS} rows"
