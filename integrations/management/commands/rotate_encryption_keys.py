"""python manage.py rotate_encryption_keys [--dry-run] [--batch-size N]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from integrations.crypto import encryption_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first key of TRIBUTARY_ENCRYPTION_KEYS. "
        "Afterwards the older keys can be removed from the setting."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be re-encrypted; write nothing.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )

    def handle(self, *args, dry_run: bool, batch_size: int, **options) -> None:
        if batch_size < 1:
            raise CommandError(f"--batch-size must be at least 1, got {batch_size}.")
        counts = encryption_keys_rotate(batch_size=batch_size, dry_run=dry_run)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        for count in counts:
            self.stdout.write(
                f"{count.label}: {verb} {count.rotated}, already on the newest key {count.current}"
            )
        unreadable = [(count.label, count.unreadable) for count in counts if count.unreadable]
        if unreadable:
            rows = "; ".join(f"{label} ids {', '.join(map(str, ids))}" for label, ids in unreadable)
            raise CommandError(
                f"No key in TRIBUTARY_ENCRYPTION_KEYS decrypts these values, left as they are: "
                f"{rows}. Add back the key that encrypted them, run again, then remove it."
            )
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write("Done: every encrypted value uses the first key; older keys can go.")
