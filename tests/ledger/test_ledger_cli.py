"""`edge-app export` from a shell: the three formats, the options, and the refusals."""

import os
import subprocess
import sys
import zipfile

import pytest
from openpyxl import load_workbook

from edge_app.cli import main

import ledger_data
from edge_app.store import open_store


def edge_app(*args, cwd):
    env = dict(os.environ, XDG_CACHE_HOME=str(cwd / ".cache"))
    return subprocess.run([sys.executable, "-m", "edge_app.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_export_writes_a_pdf_from_a_shell(site, tmp_path):
    root, info = site
    p = edge_app("export", "--data", root, "--site", info["site"], "--format", "pdf", "--out", "사진대지.pdf",
                 cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "사진대지.pdf").read_bytes()[:5] == b"%PDF-"
    assert "6 spots, 18 photos, 4 pages; 1 unconfirmed spots left out"  # cover, 2 of photos, the index in p.stdout
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no partial file left


def test_export_options(site, tmp_path, capsys, monkeypatch):
    root, info = site
    monkeypatch.chdir(tmp_path)
    s = str(info["site"])
    assert main(["export", "--data", str(root), "--site", s, "--format", "xlsx"]) == 0
    ws = load_workbook(tmp_path / f"ledger-site{s}.xlsx").active
    assert len(ws._images) == 18
    assert main(["export", "--data", str(root), "--site", s, "--format", "xlsx", "--all-photos",
                 "--include-unconfirmed", "--lang", "en", "--out", "all.xlsx"]) == 0
    ws = load_workbook(tmp_path / "all.xlsx").active
    assert len(ws._images) == 23 and ws["A1"].value == "Photo ledger" and ws["B4"].value == "Before works"
    assert main(["export", "--data", str(root), "--site", s, "--format", "zip"]) == 0
    with zipfile.ZipFile(tmp_path / f"ledger-site{s}-originals.zip") as z:
        assert len(z.namelist()) == 21
    out = capsys.readouterr().out
    assert "wrote all.xlsx: 7 spots, 23 photos" in out and "20 originals" in out


def test_export_refuses_with_a_reason(site, tmp_path, capsys, monkeypatch):
    root, info = site
    monkeypatch.chdir(tmp_path)
    d, s = str(root), str(info["site"])
    assert main(["export", "--data", d, "--site", "999", "--format", "pdf"]) == 2
    assert "no site 999" in capsys.readouterr().err
    assert main(["export", "--data", d, "--site", s, "--format", "pdf", "--template", "x.xlsx"]) == 2
    assert "--template is for --format xlsx" in capsys.readouterr().err
    assert main(["export", "--data", d, "--site", s, "--format", "xlsx", "--template", "missing.xlsx"]) == 2
    (tmp_path / "bad.xlsx").write_text("not a workbook")
    assert main(["export", "--data", d, "--site", s, "--format", "xlsx", "--template", "bad.xlsx"]) == 2
    assert "cannot be used" in capsys.readouterr().err
    assert main(["export", "--data", d, "--site", s, "--format", "pdf", "--out", "no/such/dir/x.pdf"]) == 2
    with pytest.raises(SystemExit):
        main(["export", "--data", d, "--site", s, "--format", "docx"])
    with pytest.raises(SystemExit) as no_data:
        main(["export", "--data", str(tmp_path / "nothing"), "--site", s, "--format", "pdf"])
    assert no_data.value.code == 2 and not (tmp_path / "nothing").exists()
    assert not list(tmp_path.glob("*.pdf")) and not list(tmp_path.glob("*.xlsx.part"))


def test_a_site_without_confirmed_spots_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open_store(tmp_path / "data") as st:
        info = ledger_data.build_site(st, 0, unconfirmed=2)
    assert main(["export", "--data", str(tmp_path / "data"), "--site", str(info["site"]), "--format", "pdf"]) == 1
    err = capsys.readouterr().err
    assert "no confirmed spot" in err and "2 not confirmed yet" in err and "--include-unconfirmed" in err
    assert not list(tmp_path.glob("*.pdf"))
    assert main(["export", "--data", str(tmp_path / "data"), "--site", str(info["site"]), "--format", "pdf",
                 "--include-unconfirmed"]) == 0
