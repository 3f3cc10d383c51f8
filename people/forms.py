from django import forms

from people.models import zone_choices


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Show and enter times in",
        choices=zone_choices,
        help_text="Every page names the zone it uses. UTC is what pipelines and reviewers use.",
    )
