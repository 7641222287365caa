"""The app's callback headers (event.notification.callback.headers) became a secret key: move
them from the plain configuration to the encrypted secrets."""

from django.db import migrations

KEY = "event.notification.callback.headers"


def headers_to_secrets(apps, schema_editor):
    Instance = apps.get_model("integrations", "Instance")
    for instance in Instance.objects.filter(configuration__has_key=KEY).iterator():
        instance.secrets = {**instance.secrets, KEY: instance.configuration.pop(KEY)}
        instance.save(update_fields=["configuration", "secrets"])


def headers_to_configuration(apps, schema_editor):
    Instance = apps.get_model("integrations", "Instance")
    for instance in Instance.objects.all().iterator():
        if KEY in instance.secrets:
            instance.configuration = {**instance.configuration, KEY: instance.secrets.pop(KEY)}
            instance.save(update_fields=["configuration", "secrets"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_delivery_state"),
    ]

    operations = [migrations.RunPython(headers_to_secrets, headers_to_configuration)]
