"""The role groups in the user and group pages under their translated labels (aftersales.roles.ROLE_LABELS): the
group's `name` stays the key the code and migrations use, and people read 客服, 主管, 仓库, 经理."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from aftersales.roles import role_label


class RoleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return role_label(obj.name)


class RoleFilter(admin.SimpleListFilter):
    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(group.pk, role_label(group.name)) for group in Group.objects.order_by("name")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            return queryset.filter(groups__pk=int(self.value()))
        except ValueError:
            return queryset.none()


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    list_display = ["label", "name"]

    @admin.display(description=_("role"), ordering="name")
    def label(self, group):
        return role_label(group.name)


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class DeskUserAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "role_labels", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active", RoleFilter]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["form_class"] = RoleChoiceField
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description=_("roles"))
    def role_labels(self, user):
        return "、".join(sorted(role_label(group.name) for group in user.groups.all()))
