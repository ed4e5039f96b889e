from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inequalities import demo
from inequalities.models import Practice


class Command(BaseCommand):
    help = "Build the demo from real open data (idempotent) and create a user for every role."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if organisations exist.")
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Run with DEBUG off (demo users have a published password: never on a real service).",
        )

    def handle(self, *args, if_empty=False, allow_without_debug=False, **options):
        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "load_demo creates users with a published password; it runs only with DEBUG=1."
            )
        if if_empty and Practice.objects.exists():
            self.stdout.write("Organisations already loaded; leaving the database as it is.")
            return
        demo.import_demo_files(self.stdout)
        demo.create_demo_users()
        self.stdout.write(self.style.SUCCESS("Demo loaded."))
