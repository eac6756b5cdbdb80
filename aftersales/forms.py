from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from aftersales.selectors import shops_for_user


class OrderImportForm(forms.Form):
    shop = forms.ModelChoiceField(label=_("shop"), queryset=None, empty_label=None)
    file = forms.FileField(
        label=_("file"),
        help_text=_("An .xlsx workbook or a .csv file (UTF-8 or GBK), one row per order line, headers in row 1."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops_for_user(user).select_related("platform")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.ORDER_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; at most %(max)s can be imported at once."),
                params={
                    "size": filesizeformat(upload.size),
                    "max": filesizeformat(settings.ORDER_IMPORT_MAX_BYTES),
                },
            )
        return upload
