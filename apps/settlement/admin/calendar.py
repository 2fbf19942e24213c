"""The business calendar in the admin: calendars and their holidays, read only. Adding, moving and
removing a holiday is asked for on "Request a holiday change", which makes a maker-checker request
a compliance supervisor approves (the change is applied and journaled then)."""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse

from apps.audit.admin_export import CsvExportMixin
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.settlement import services
from apps.settlement.admin.shared import ReasonField, RequestForm, RequestPageAdminMixin, change_requested
from apps.settlement.models import BusinessCalendar, Holiday

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    list_display = ("currency", "market_country", "time_zone", "weekend", "cutoff", "holiday_count")
    fields = ("currency", "market_country", "time_zone", "weekend", "cutoff")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessCalendar]:
        return super().get_queryset(request).annotate(holiday_count=Count("holidays"))

    @admin.display(description="Weekend")
    def weekend(self, calendar: BusinessCalendar) -> str:
        return ", ".join(_WEEKDAY_NAMES[day] for day in sorted(calendar.weekend_days))

    @admin.display(description="Holidays", ordering="holiday_count")
    def holiday_count(self, calendar: BusinessCalendar) -> int:
        return calendar.holiday_count


class HolidayChangeForm(RequestForm):
    calendar = forms.ModelChoiceField(queryset=BusinessCalendar.objects.all(), to_field_name="currency",
                                      empty_label=None)
    change = forms.ChoiceField(choices=[
        (services.HOLIDAY_MOVE, "Move a holiday (to its announced date)"),
        (services.HOLIDAY_ADD, "Add a holiday"),
        (services.HOLIDAY_REMOVE, "Remove a holiday"),
    ])
    date = forms.DateField(help_text="YYYY-MM-DD: the holiday's date; for a new holiday, its date")
    new_date = forms.DateField(required=False, help_text="YYYY-MM-DD: where a moved holiday goes")
    name = forms.CharField(required=False, max_length=200, help_text="A new holiday's name")
    reason = ReasonField(help_text="Why (the announcement, its source): the checker and the journal read it.")

    @property
    def action(self) -> str:
        return self.cleaned_data["change"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        change = cleaned.get("change")
        if change == services.HOLIDAY_MOVE and not cleaned.get("new_date"):
            self.add_error("new_date", "Moving a holiday needs the date it moves to.")
        if change == services.HOLIDAY_ADD and not (cleaned.get("name") or "").strip():
            self.add_error("name", "A new holiday needs its name.")
        return cleaned

    def arguments(self) -> dict[str, str]:
        cleaned, change = self.cleaned_data, self.cleaned_data["change"]
        arguments = {"currency": cleaned["calendar"].currency, "date": cleaned["date"].isoformat()}
        if change == services.HOLIDAY_MOVE:
            arguments["new_date"] = cleaned["new_date"].isoformat()
        if change == services.HOLIDAY_ADD:
            arguments["name"] = cleaned["name"].strip()
        return arguments


@admin.register(Holiday)
class HolidayAdmin(RequestPageAdminMixin, CsvExportMixin, ReadOnlyModelAdmin):
    """Holidays per calendar: seeded from the holidays package (Islamic dates estimated until
    announced) or changed by staff through an approved request."""

    request_permission = "settlement.request_holiday_change"
    request_label = "Request a holiday change"

    list_display = ("date", "weekday", "name", "currency", "source", "estimated")
    list_filter = ("calendar", "source", "estimated")
    list_select_related = ("calendar",)
    search_fields = ("name",)
    date_hierarchy = "date"
    fields = ("calendar", "date", "weekday", "name", "source", "estimated")
    readonly_fields = fields

    @admin.display(description="Weekday")
    def weekday(self, holiday: Holiday) -> str:
        return _WEEKDAY_NAMES[holiday.date.weekday()]

    @admin.display(description="Currency", ordering="calendar__currency")
    def currency(self, holiday: Holiday) -> str:
        return holiday.calendar.currency

    def request_object_links(self, request: HttpRequest, holiday: Holiday) -> list[tuple[str, str]]:
        return [("Request a change of this holiday", f"{self.request_url()}?{urlencode({'holiday': holiday.pk})}")]

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a holiday to be added, moved or removed: a maker-checker request, nothing changes yet.
        ``?holiday=<id>`` fills the form in with that holiday (to move it)."""
        initial: dict[str, Any] = {}
        holiday_id = request.GET.get("holiday", "")
        holiday = Holiday.objects.select_related("calendar").filter(pk=holiday_id).first() if holiday_id.isdigit() \
            else None
        if holiday is not None:
            initial = {"calendar": holiday.calendar.currency, "date": holiday.date, "name": holiday.name}
        return change_requested(self, request, HolidayChangeForm(request.POST or None, initial=initial),
                                title="Request a holiday change",
                                explanation="A holiday decides which day's settlement a payment belongs to, so "
                                            "changing one needs a second person. Only today's and later days can "
                                            "change.")
