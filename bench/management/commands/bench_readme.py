"""Rewrite the README's performance table from a bench_all JSON (default: the committed bench/results/bench-all.json).

python manage.py bench_readme [--input bench/results/bench-all.json]
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from bench.summary import RESULTS, load_results, readme_update


class Command(BaseCommand):
    help = "Write bench_all's figures into README.md between its markers."

    def add_arguments(self, parser):
        parser.add_argument("--input", default=str(RESULTS))

    def handle(self, *args, input, **options):
        changed = readme_update(Path(settings.BASE_DIR) / "README.md", load_results(Path(input)))
        self.stdout.write("README.md updated" if changed else "README.md already shows these figures")
