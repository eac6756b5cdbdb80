from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmarks of DESIGN §7 on a generated year of one big shop. Reads and writes every app; nothing imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "bench"
    verbose_name = "benchmarks"
