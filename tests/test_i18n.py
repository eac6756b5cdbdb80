"""Chinese first, English on request; every visible string translated and the compiled catalogue committed."""

import json
import shutil
import subprocess
import sys

import pytest
from django.urls import reverse

from aftersales import roles
from tests.conftest import ROOT, embedded_env
from tests.factories import ShopFactory, make_staff

ZH_PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH_MO = ZH_PO.with_suffix(".mo")
SOURCES = [
    "desk",
    "aftersales",
    "logistics",
    "warehouse",
    "metrics",
    "marketplaces",
    "config",
    "bench",
    "templates",
    "locale",
    "manage.py",
]


def catalogue(po_text: str) -> dict[str, str]:
    """msgid → msgstr (first plural form) of a .po file, with fuzzy entries marked by a leading '#fuzzy:'."""
    entries = {}
    for block in po_text.split("\n\n"):
        lines = block.strip().splitlines()
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith('"') and current:
                fields[current] += json.loads(line)
            else:
                key, _space, value = line.partition(" ")
                current = key
                fields[key] = json.loads(value)
        if fields.get("msgid"):
            entries[fields["msgid"]] = ("#fuzzy:" if fuzzy else "") + fields.get("msgstr", fields.get("msgstr[0]", ""))
    return entries


@pytest.mark.django_db
def test_admin_speaks_chinese_by_default_and_english_when_chosen(client):
    client.force_login(make_staff("agent", role=roles.AGENT, shops=[ShopFactory()]))

    # ?menu=1: the admin's home with every menu (the agent's own start is the ticket queue).
    chinese = client.get(reverse("admin:index") + "?menu=1").content.decode()
    assert "售后工作台" in chinese
    assert "订单" in chinese

    client.post(reverse("set_language"), {"language": "en", "next": reverse("admin:index")})
    english = client.get(reverse("admin:index") + "?menu=1").content.decode()
    assert "After-sales Desk" in english
    assert "Orders" in english
    assert "售后工作台" not in english


@pytest.mark.django_db
def test_a_browser_asking_for_english_still_gets_chinese_until_the_user_chooses(client):
    client.force_login(make_staff("clerk", role=roles.WAREHOUSE, shops=[ShopFactory()]))

    response = client.get(reverse("admin:index") + "?menu=1", headers={"accept-language": "en-US,en;q=0.9"})

    assert "售后工作台" in response.content.decode()
    assert response["Content-Language"] == "zh-hans"


def test_every_chinese_entry_is_translated_and_none_is_fuzzy():
    entries = catalogue(ZH_PO.read_text(encoding="utf-8"))

    untranslated = [msgid for msgid, msgstr in entries.items() if not msgstr or msgstr.startswith("#fuzzy:")]

    assert len(entries) > 50
    assert untranslated == []


def test_the_committed_mo_is_compiled_from_the_committed_po(tmp_path):
    compiled = tmp_path / "django.mo"

    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(ZH_PO)], check=True)

    assert compiled.read_bytes() == ZH_MO.read_bytes(), "run `make messages` and commit locale/"


@pytest.mark.slow
def test_no_string_in_the_source_is_missing_from_the_chinese_catalogue(tmp_path):
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "zh_Hans", "--no-obsolete"],
        cwd=tmp_path,
        env=embedded_env(VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(tmp_path)),
        check=True,
        capture_output=True,
    )

    extracted = catalogue((tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8"))
    committed = catalogue(ZH_PO.read_text(encoding="utf-8"))

    assert sorted(set(extracted) - set(committed)) == []
