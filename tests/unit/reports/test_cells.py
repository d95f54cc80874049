"""cdr.reports.cells: the one rule every CSV writer applies (issue 16, item 4)."""

import csv
import io

import pytest

from cdr.reports.cells import csv_cell, csv_line, csv_text
from cdr.reports.tables import summary_csv


@pytest.mark.parametrize("text", ["=1+1", "+SUM(1,2)", "-2", "@A1", "\t=1", "\r=1", "=", "-"])
def test_formula_starts_get_a_quote(text):
    assert csv_text(text) == "'" + text


@pytest.mark.parametrize("text", ["", "plain", " =1", "'=1", "1-2", "2026-03-01T00:00:00Z", "a=b", "\n=1"])
def test_other_text_is_unchanged(text):
    assert csv_text(text) == text


@pytest.mark.parametrize(("value", "cell"), [(None, ""), (-5, "-5"), (-0.5, "-0.5"), (0, "0"), (False, "false")])
def test_numbers_stay_numbers(value, cell):
    assert csv_cell(value) == cell


def test_report_tables_neutralise_text_cells_and_keep_numbers():
    summary = {
        "buckets": [{"start": "=cmd", "legs": -1, "asr": None}],
        "sip_codes": [{"sip_code": "+486", "legs": 3}],
        "initiators": [{"initiator": "@remote", "legs": -2}],
    }
    rows = list(csv.reader(io.StringIO(summary_csv(summary, "initiators"))))
    assert rows == [["initiator", "legs"], ["'@remote", "-2"]]
    rows = list(csv.reader(io.StringIO(summary_csv(summary, "sip_codes"))))
    assert rows == [["sip_code", "legs"], ["'+486", "3"]]
    rows = list(csv.DictReader(io.StringIO(summary_csv(summary, "buckets"))))
    assert rows[0]["start"] == "'=cmd"


def test_a_lone_cr_is_quoted_so_no_row_starts_inside_a_cell():
    # The csv module leaves it bare with \n line ends: a spreadsheet would start a row at "=cmd".
    line = csv_line(["x\r=cmd()", "-5", -5, None, True, "a,b", 'q"'])
    assert line == '"x\r=cmd()",\'-5,-5,,true,"a,b","q"""\n'
    assert list(csv.reader(io.StringIO(line, newline=""))) == [["x\r=cmd()", "'-5", "-5", "", "true", "a,b", 'q"']]
