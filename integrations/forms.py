"""Admin forms for elements and instances.

Secrets are write-only here: the instance form has no field that renders a secret or a
providerData value, and the "replace" textareas never echo what was typed.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from integrations.elements.validation import validate_definition
from integrations.instances.services import configuration_merge, configuration_split
from integrations.models import Element, Instance
from integrations.provider.urlguard import url_problems

MONOSPACE = "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; width: 95%;"
SCALAR_TYPES = (str, int, float, bool)


class PrettyJSONField(forms.JSONField):
    """A JSON textarea that shows its value indented and reports syntax errors by position."""

    def __init__(self, *, rows: int = 10, indent: int | None = 2, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows, "style": MONOSPACE}))
        self.indent = indent
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
                    code="invalid",
                ) from None
        return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=self.indent)


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders a value back, not even after a failed submit."""

    def format_value(self, value: Any) -> None:
        return None


class WriteOnlyJSONObjectField(forms.JSONField):
    """An optional JSON object typed in by hand and never shown again."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", WriteOnlyTextarea(attrs={"rows": 4, "style": MONOSPACE}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                # The message must not quote the input: it holds secrets.
                raise ValidationError(
                    f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. "
                    'Enter a JSON object such as {"key": "new value"}; it was not kept, '
                    "type it again.",
                    code="invalid",
                ) from None
        value = super().to_python(value)
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValidationError(
                'Enter a JSON object such as {"key": "new value"}; it was not kept, type it again.',
                code="not_object",
            )
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        return bool(data and str(data).strip())


class ElementForm(forms.ModelForm):
    """An element is edited as its whole JSON definition; key, name and hub come from it."""

    definition = PrettyJSONField(
        rows=40,
        help_text="The whole element definition as JSON (see docs/elements.md). Its key, "
        "name and hub are taken from it.",
    )

    class Meta:
        model = Element
        fields = ["definition"]

    def clean_definition(self) -> dict[str, Any]:
        definition = self.cleaned_data["definition"]
        problems = validate_definition(definition)
        if problems:
            raise ValidationError(problems)
        key = definition["key"]
        if self.instance.pk and key != self.instance.key:
            raise ValidationError(
                f"The definition's key \"{key}\" does not match this element's key "
                f'"{self.instance.key}". Instances refer to elements by key, so it cannot be '
                "changed here: add a new element instead."
            )
        if not self.instance.pk and Element.objects.filter(key=key).exists():
            raise ValidationError(
                f'An element with key "{key}" already exists: edit that one, or give this '
                "definition another key."
            )
        return definition

    def save(self, commit: bool = True) -> Element:
        element = super().save(commit=False)
        definition = self.cleaned_data["definition"]
        element.key, element.name, element.hub = (
            definition["key"],
            definition["name"],
            definition["hub"],
        )
        if commit:
            element.save()
        return element


class InstanceAdminForm(forms.ModelForm):
    tags = PrettyJSONField(rows=2, indent=None, required=False, help_text="A JSON list of strings.")
    configuration = PrettyJSONField(
        rows=8,
        required=False,
        help_text="Non-secret configuration: a JSON object of strings, numbers or booleans. "
        "A secret key typed here (oauth.api.secret, event.notification.signature.key, ...) "
        "is moved to the encrypted secrets on save.",
    )
    callback_url = forms.URLField(
        max_length=2000,
        required=False,
        assume_scheme="https",
        help_text="Where events are delivered (event.notification.callback.url).",
    )
    replace_secrets = WriteOnlyJSONObjectField(
        label="Replace secrets",
        help_text='A JSON object of secret keys to set, e.g. {"oauth.api.secret": "..."}; '
        "null removes a key. Other secrets are kept. Never shown again.",
    )
    replace_provider_data = WriteOnlyJSONObjectField(
        label="Replace provider data",
        help_text="A JSON object that replaces the whole providerData (tokens) when not empty. "
        "Never shown again.",
    )

    class Meta:
        model = Instance
        fields = [
            "name",
            "element",
            "owner",
            "tags",
            "configuration",
            "events_enabled",
            "vendor_type",
            "callback_url",
            "refresh_interval",
        ]

    # The columns this form writes; the admin saves only these on change.
    saved_fields = (*Meta.fields, "secrets", "provider_data", "events_enabled_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._events_were_enabled = bool(self.instance.pk and self.instance.events_enabled)

    def clean_tags(self) -> list[str]:
        tags = self.cleaned_data["tags"]
        if tags is None:
            return []
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ValidationError('Tags must be a JSON list of strings, e.g. ["support"].')
        return tags

    def clean_configuration(self) -> dict[str, Any]:
        configuration = self.cleaned_data["configuration"]
        if configuration is None:
            return {}
        if not isinstance(configuration, dict):
            raise ValidationError('Configuration must be a JSON object, e.g. {"site.address": ""}.')
        for key, value in configuration.items():
            if key == "event.poller.configuration":
                raise ValidationError(
                    "event.poller.configuration is edited as the poller objects below, "
                    "not in the configuration."
                )
            if value is not None and not isinstance(value, SCALAR_TYPES):
                raise ValidationError(
                    f'The value of "{key}" must be a string, a number or true/false, '
                    "not a list or an object."
                )
        return configuration

    def clean_callback_url(self) -> str:
        url = self.cleaned_data["callback_url"]
        problems = url_problems(url) if url else []
        if problems:
            raise ValidationError(f"{problems[0]}.")
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        element, configuration = cleaned.get("element"), cleaned.get("configuration")
        key = element.definition.get("site", {}).get("configKey") if element else None
        if key and configuration and configuration.get(key):
            for problem in url_problems(element.site_url(configuration)):
                self.add_error("configuration", f"{key}: {problem}.")
        return cleaned

    def clean_replace_secrets(self) -> dict[str, Any]:
        changes = self.cleaned_data["replace_secrets"]
        for key, value in changes.items():
            if value is not None and not isinstance(value, SCALAR_TYPES):
                raise ValidationError(
                    f'The new value of "{key}" must be a string (or null to remove it); '
                    "nothing was kept, type it again."
                )
        return changes

    def save(self, commit: bool = True) -> Instance:
        instance = super().save(commit=False)
        plain, moved = configuration_split(
            element=instance.element, configuration=instance.configuration
        )
        changes = {**moved, **self.cleaned_data["replace_secrets"]}
        instance.secrets = configuration_merge(current=instance.secrets or {}, changes=changes)
        # A key now held as a secret must not linger in plain text.
        instance.configuration = {k: v for k, v in plain.items() if k not in changes}
        if self.cleaned_data["replace_provider_data"]:
            instance.provider_data = self.cleaned_data["replace_provider_data"]
        if instance.events_enabled and not self._events_were_enabled:
            instance.events_enabled_at = timezone.now()
        if commit:
            instance.save()
            self._save_m2m()
        return instance
