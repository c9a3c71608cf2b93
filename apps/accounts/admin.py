from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from apps.accounts.forms import AdminLoginForm
from apps.accounts.models import Invitation, Membership, Organization, User

admin.site.register(User, UserAdmin)
# The admin's sign-in goes through the same throttle as the site's (apps.accounts.backends).
admin.site.login_form = AdminLoginForm


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["invitee", "organization", "role", "status", "expires_at", "invited_by"]
    list_filter = ["status", "role"]
    search_fields = ["invitee", "organization__name"]
    raw_id_fields = ["user", "invited_by"]
