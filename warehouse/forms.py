"""Forms of the receiving station: they parse what the clerk typed; the services decide whether it may happen."""

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.selectors import shops_for_user
from warehouse.models import Inspection

EVIDENCE_ACCEPT = "image/*,video/*"


class ScanForm(forms.Form):
    tracking_number = forms.CharField(
        label=_("Scan the return's tracking number"),
        max_length=60,
        widget=forms.TextInput(
            attrs={
                "id": "scan",
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "scan-input",
            }
        ),
    )


class UnexpectedParcelForm(forms.Form):
    """A parcel no ticket expects: kept on record in one of the clerk's shops for an agent to match."""

    tracking_number = forms.CharField(label=_("tracking number"), max_length=60)
    shop = forms.ModelChoiceField(label=_("shop"), queryset=None, empty_label=None)
    note = forms.CharField(
        label=_("note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
        help_text=_("What is in the parcel, the sender's name or phone on the waybill: whatever helps the agent."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops_for_user(user).order_by("name")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern); each one is checked by its bytes in the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class InspectionForm(forms.Form):
    """验货: the result, what came back of each line (the sold quantity unless changed), notes and evidence."""

    result = forms.ChoiceField(
        label=_("result"),
        choices=Inspection.Result.choices,
        initial=Inspection.Result.OK,
        widget=forms.RadioSelect(attrs={"class": "inspection-result"}),
    )
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))
    files = MultipleFileField(
        label=_("photos and unboxing video"),
        required=False,
        # No `capture`: on a phone it would hide the gallery, where the unboxing video already is.
        widget=MultipleFileInput(attrs={"accept": EVIDENCE_ACCEPT}),
        help_text=_("An abnormal result needs at least one photo or video."),
    )

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[self.quantity_field_name(line)] = forms.IntegerField(
                label=f"{line.item_name} ({line.sku})",
                min_value=0,
                max_value=line.quantity,
                initial=line.quantity,
                widget=forms.NumberInput(attrs={"class": "quantity-input", "size": 4}),
            )

    @staticmethod
    def quantity_field_name(line) -> str:
        return f"quantity_{line.pk}"

    def line_rows(self):
        """(order line, its bound quantity field) for the table of what was expected."""
        return [(line, self[self.quantity_field_name(line)]) for line in self.lines]

    def quantities(self) -> dict[int, int]:
        return {line.pk: self.cleaned_data[self.quantity_field_name(line)] for line in self.lines}
