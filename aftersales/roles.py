"""Role groups and the model permissions each role's work needs, granted by each app's data migrations.

Each app grants the permissions on its own models, so migrations keep the apps' one-way dependencies.
Which shops a person works on is a separate, per-object grant (guardian, `aftersales.work_in_shop`).
"""

from django.contrib.auth.management import create_permissions
from django.utils.translation import pgettext_lazy

# The group names are keys (data migrations, permissions and code find the groups by them) and stay English;
# people read the labels.
AGENT = "Agent"
SUPERVISOR = "Supervisor"
WAREHOUSE = "Warehouse"
MANAGER = "Manager"
ROLES = (AGENT, SUPERVISOR, WAREHOUSE, MANAGER)
ROLE_LABELS = {
    AGENT: pgettext_lazy("role", "Agent"),
    SUPERVISOR: pgettext_lazy("role", "Supervisor"),
    WAREHOUSE: pgettext_lazy("role", "Warehouse"),
    MANAGER: pgettext_lazy("role", "Manager"),
}


def role_label(name: str) -> str:
    """A group's name as people read it: the role's label in their language, or the name of any other group."""
    return str(ROLE_LABELS.get(name, name))


def grant_role_permissions(apps, app_label: str, grants: dict[str, list[str]]) -> None:
    """Add `grants` ({role: [codename, ...]}) for `app_label`'s models; callable from a data migration."""
    group_model = apps.get_model("auth", "Group")
    for group, permissions in _resolve(apps, app_label, grants):
        group.permissions.add(*permissions)
    # Groups without a grant in this app still exist, so every role appears from the first migration on.
    for role in ROLES:
        group_model.objects.get_or_create(name=role)


def revoke_role_permissions(apps, app_label: str, grants: dict[str, list[str]]) -> None:
    for group, permissions in _resolve(apps, app_label, grants):
        group.permissions.remove(*permissions)


def _resolve(apps, app_label, grants):
    # On a fresh database the permission rows are created only after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, codenames in grants.items():
        group, _created = group_model.objects.get_or_create(name=role)
        permissions = list(permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames))
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise LookupError(f"{app_label} has no permissions {sorted(missing)} to grant to {role}")
        yield group, permissions
