"""Admin building blocks: read-only screens (journals, ledgers, message logs nobody edits by
hand) and search by public id."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from apps.core import ids


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class PublicIdSearchMixin:
    """Lets staff paste an id as merchants see it (``mer_01JD...``) into the admin's search box."""

    public_id_prefix: str

    def get_search_results(self, request, queryset, search_term):
        object_id = ids.decode(self.public_id_prefix, search_term.strip())
        if object_id is not None:
            return queryset.filter(pk=object_id), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]

    @admin.display(description="Id")
    def public_id(self, obj: Model) -> str:
        return ids.encode(self.public_id_prefix, obj.pk) if obj.pk else "-"
