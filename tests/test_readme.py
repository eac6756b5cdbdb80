"""The README matches the product: what it links exists in the repository, nothing points outside it, the variables
it documents are the ones the settings read, the commands it names exist, and no stale release note remains."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_file_the_readme_links_or_shows_is_in_the_repository():
    targets = re.findall(r"\]\(([^)#\s]+)[^)]*\)", README)
    local = [target for target in targets if "://" not in target]

    assert local, "the README links no file at all?"
    assert [target for target in local if target.startswith("..") or target.startswith("/")] == []
    assert [target for target in local if not (ROOT / target).exists()] == []


def test_the_readme_points_at_nothing_outside_the_repository():
    outside = re.findall(r"\.\./[\w./-]+", README)

    assert outside == []


def test_every_variable_in_the_production_table_is_read_by_the_settings():
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", README, flags=re.MULTILINE))
    settings_text = "".join(path.read_text() for path in (ROOT / "config").glob("*.py"))

    assert len(documented) > 10
    assert sorted(name for name in documented if f'"{name}"' not in settings_text) == []


def test_every_management_command_the_readme_names_exists():
    named = set(re.findall(r"manage\.py ([a-z_]+)", README)) | set(re.findall(r"`((?:bench|load)_[a-z_]+)`", README))
    ours = {path.stem for path in ROOT.glob("*/management/commands/*.py")}
    django_commands = {
        "migrate",
        "createsuperuser",
        "collectstatic",
        "check",
        "makemigrations",
        "compilemessages",
        "shell",
    }

    assert "load_demo" in named
    assert sorted(named - ours - django_commands) == []


def test_no_stale_release_note_remains():
    stale = ["This release holds the foundation", "the place for the dashboards", "SWEEP_DEADLINE_WARNING_HOURS"]

    assert [sentence for sentence in stale if sentence in README] == []
