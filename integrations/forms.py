"""Admin forms for elements and instances.

The instance form is the instance JSON in form fields: it validates with the instance service
and writes through it, so the admin accepts and refuses exactly what the Apps API does, with
the same messages. Secrets are write-only here: no field renders a secret or a providerData
value, and the "replace" textareas never echo what was typed.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from core.json import loads_bounded
from integrations.elements import validate_definition
from integrations.instances import (
    InstanceJSONError,
    instance_create,
    instance_json_parse,
    instance_update,
    instance_update_parse,
    poller_configuration_render,
)
from integrations.instances.config import CALLBACK_URL, ENABLED, REFRESH_INTERVAL, VENDOR_TYPE
from integrations.instances.pollers_config import POLLER_CONFIGURATION
from integrations.models import Element, Instance

MONOSPACE = "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; width: 95%;"
# The configuration keys shown as form fields of their own.
KEY_FIELDS = {
    ENABLED: "events_enabled",
    VENDOR_TYPE: "vendor_type",
    CALLBACK_URL: "callback_url",
    REFRESH_INTERVAL: "refresh_interval",
    POLLER_CONFIGURATION: "poller_configuration",
}


def _loads(text: str) -> Any:
    # As deep as the API accepts (project/api_parsers.py), as large as a request may be.
    return loads_bounded(text, max_bytes=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


class BoundedJSONField(forms.JSONField):
    """A JSON textarea parsed within ``core.json``'s limits: Django's own field recurses once
    per level of nesting, so ``[`` typed 100,000 times would be a server error rather than a
    form error. ``invalid_hint`` ends each message about the input."""

    invalid_hint = ""

    def to_python(self, value: Any) -> Any:
        if self.disabled or not isinstance(value, str) or not value.strip():
            return super().to_python(value)
        try:
            converted = _loads(value)
        except json.JSONDecodeError as exc:
            # The message must not quote the input: it may hold secrets.
            raise ValidationError(
                f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}."
                + self.invalid_hint,
                code="invalid",
            ) from None
        except ValueError as exc:  # over a limit, or NaN, Infinity, 1e999
            message = str(exc)
            raise ValidationError(
                f"{message[:1].upper()}{message[1:]}." + self.invalid_hint, code="invalid"
            ) from None
        return forms.fields.JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        # What was typed is shown again as typed when it does not parse (Django parses it
        # here a second time, unbounded).
        if self.disabled or data is None:
            return super().bound_data(data, initial)
        try:
            return _loads(data)
        except ValueError:
            return forms.fields.InvalidJSONInput(data)


class PrettyJSONField(BoundedJSONField):
    """A JSON textarea that shows its value indented and reports syntax errors by position."""

    def __init__(self, *, rows: int = 10, indent: int | None = 2, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows, "style": MONOSPACE}))
        self.indent = indent
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        if value is None:
            return ""
        return json.dumps(value, ensure_ascii=False, indent=self.indent)


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders a value back, not even after a failed submit."""

    def format_value(self, value: Any) -> None:
        return None


class WriteOnlyJSONObjectField(BoundedJSONField):
    """An optional JSON object typed in by hand and never shown again."""

    invalid_hint = (
        ' Enter a JSON object such as {"key": "new value"}; it was not kept, type it again.'
    )

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", WriteOnlyTextarea(attrs={"rows": 4, "style": MONOSPACE}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValidationError(self.invalid_hint.strip(), code="not_object")
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
    """An instance as its instance JSON: ``clean`` validates it with the instance service,
    ``save`` writes it through that service (PATCH semantics on change)."""

    name = forms.CharField(required=False)
    tags = PrettyJSONField(rows=2, indent=None, required=False, help_text="A JSON list of strings.")
    configuration = PrettyJSONField(
        rows=8,
        required=False,
        help_text="The non-secret configuration keys as a JSON object; a key left out is "
        "removed. A secret key typed here (oauth.api.secret, event.notification.signature.key, "
        "...) is moved to the encrypted secrets on save. An event key typed here overrides "
        "its field below.",
    )
    callback_url = forms.CharField(
        required=False,
        label="Callback URL",
        help_text="Where events are delivered (event.notification.callback.url).",
    )
    refresh_interval = forms.CharField(
        required=False,
        help_text="Minutes between polls (event.poller.refresh_interval); empty uses the "
        "element default.",
    )
    poller_configuration = PrettyJSONField(
        rows=12,
        required=False,
        label="Poller configuration",
        help_text="event.poller.configuration: one resource spec per polled resource, as in "
        "the instance JSON. A resource left out is deleted with its poll state; a kept one "
        "keeps it. Empty: the element's default resources when events are on by polling. "
        "Pause or resume a resource on its own page (the poller objects below).",
    )
    replace_secrets = WriteOnlyJSONObjectField(
        label="Replace secrets",
        help_text='A JSON object of secret keys to set, e.g. {"oauth.api.secret": "..."}; '
        "null removes a key. Other secrets are kept. Never shown again.",
    )
    replace_provider_data = WriteOnlyJSONObjectField(
        label="Replace provider data",
        help_text="A JSON object that replaces the whole providerData (tokens) when not empty; "
        "stored as given. Never shown again.",
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # None, not {}, without resources: "{}" would ask for no resources at all.
            self.initial["poller_configuration"] = (
                poller_configuration_render(self.instance) or None
            )
        self.instance_json: dict[str, Any] = {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned  # a field that did not parse: the instance JSON is incomplete
        self.instance_json = self._instance_json(cleaned)
        try:
            if self.instance.pk:
                instance_update_parse(
                    instance=self.instance, data=self.instance_json, provider_data_as_given=True
                )
            else:
                instance_json_parse(data=self.instance_json)
        except InstanceJSONError as exc:
            for message in exc.errors:
                self.add_error(self._field_for(message, cleaned), message)
        return cleaned

    def _post_clean(self) -> None:
        """Nothing: the instance service validated the whole instance in ``clean``; the
        model's own field checks would refuse other things, or the same in other words."""

    def save(self, commit: bool = True) -> Instance:
        """Write through the instance service: there is no unsaved instance to return."""
        if not commit:
            raise ValueError("InstanceAdminForm writes through the instance service.")
        owner = self.cleaned_data["owner"]
        if self.instance.pk:
            self.instance = instance_update(
                instance=self.instance,
                data=self.instance_json,
                owner=owner,
                provider_data_as_given=True,
            )
        else:
            self.instance = instance_create(
                owner=owner, data=self.instance_json, provider_data_as_given=True
            )
        return self.instance

    def save_m2m(self) -> None:
        """Nothing: an instance has no many-to-many fields (the admin calls this)."""

    def _instance_json(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The (partial, on change) instance JSON this form stands for."""
        box = {} if cleaned["configuration"] is None else cleaned["configuration"]
        # A stored key left out of the box is removed (PATCH: null).
        configuration = dict.fromkeys(self.instance.configuration)
        configuration.update(
            {
                ENABLED: "true" if cleaned["events_enabled"] else "false",
                VENDOR_TYPE: cleaned["vendor_type"],
                CALLBACK_URL: cleaned["callback_url"] or None,
                REFRESH_INTERVAL: cleaned["refresh_interval"] or None,
                POLLER_CONFIGURATION: cleaned["poller_configuration"],
            }
        )
        data: dict[str, Any] = {"name": cleaned["name"], "tags": cleaned["tags"]}
        if isinstance(box, dict):
            data["configuration"] = {**configuration, **box, **cleaned["replace_secrets"]}
        else:
            data["configuration"] = box  # not an object: the service says so
        if cleaned["replace_provider_data"]:
            data["providerData"] = cleaned["replace_provider_data"]
        if not self.instance.pk:
            data["element"] = {"key": cleaned["element"].key}
        return data

    def _field_for(self, message: str, cleaned: dict[str, Any]) -> str | None:
        """The form field a service message ("<key path>: <problem>") is about."""
        path = message.partition(": ")[0]
        top = path.split("[")[0].split(".")[0]
        key = POLLER_CONFIGURATION if path.startswith(POLLER_CONFIGURATION) else path
        box = cleaned["configuration"] if isinstance(cleaned["configuration"], dict) else {}
        element = self.instance.element if self.instance.pk else cleaned["element"]
        if path in ("name", "configuration") or top in ("tags", "element"):
            field = top
        elif top == "providerData":
            field = "replace_provider_data"
        elif key in box:
            field = "configuration"
        elif key in cleaned["replace_secrets"] or element.is_secret_key(key):
            field = "replace_secrets"
        else:
            field = KEY_FIELDS.get(key, "configuration")
        return field if field in self.fields else None
