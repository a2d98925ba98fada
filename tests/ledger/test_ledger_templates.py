"""A company's own XLSX layout kept in a data folder (edge_app/ledger/templates.py): checked
before it is used, replaced and taken out without deleting anything; bad files refused with a
reason and nothing changed."""

import io
import zipfile

import pytest
from openpyxl import Workbook

import ledger_data
from edge_app.ledger import templates
from edge_app.ledger.xlsx import TemplateError


def company_bytes(tmp_path) -> bytes:
    ledger_data.company_template(tmp_path / "c.xlsx")
    return (tmp_path / "c.xlsx").read_bytes()


def test_a_company_layout_is_checked_kept_and_replaced(tmp_path):
    root = tmp_path / "data"
    assert templates.current(root) is None and templates.info(root) is None
    data = company_bytes(tmp_path)  # once: openpyxl stamps the time it writes a file
    names = templates.save(root, data, "한빛 양식.xlsx")
    assert {"PHOTO_BEFORE", "PHOTO_AFTER", "LOCATION", "WORKS_NAME"} <= set(names)
    assert templates.current(root).read_bytes() == data
    assert templates.info(root)["name"] == "한빛 양식.xlsx" and templates.info(root)["names"] == names
    templates.save(root, company_bytes(tmp_path), "v2.xlsx")  # the first one is kept aside
    assert len(list((root / "templates" / "old").iterdir())) == 1 and templates.info(root)["name"] == "v2.xlsx"
    assert templates.remove(root) and templates.current(root) is None
    assert len(list((root / "templates" / "old").iterdir())) == 2  # nothing deleted
    assert not templates.remove(root)


def test_files_that_cannot_serve_are_refused_and_change_nothing(tmp_path):
    root = tmp_path / "data"
    templates.save(root, company_bytes(tmp_path), "good.xlsx")
    plain = io.BytesIO()
    Workbook().save(plain)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/huge.xml", b"\0" * (templates.max_unpacked_bytes() + 1))
    for data, why in ((b"%PDF-1.4 not a workbook", "not a ZIP"), (plain.getvalue(), "PHOTO_"),
                      (bomb.getvalue(), "unpacks to more than"), (b"0" * (templates.max_bytes() + 1), "larger than")):
        with pytest.raises(TemplateError, match=why):
            templates.save(root, data, "bad.xlsx")
        assert templates.info(root)["name"] == "good.xlsx"
    assert sorted(p.name for p in (root / "templates").iterdir()) == ["ledger.json", "ledger.xlsx"]  # no leftovers
