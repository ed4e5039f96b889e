from django.core.management.base import BaseCommand

from inequalities import demo


class Command(BaseCommand):
    help = "Print the demo sign-ins."

    def handle(self, *args, **options):
        self.stdout.write(demo.credentials_table())
