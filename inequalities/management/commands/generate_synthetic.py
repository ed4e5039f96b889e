from django.core.management.base import BaseCommand

from inequalities.synthetic import generate


class Command(BaseCommand):
    help = (
        "Write a seeded synthetic GP registrations file (real layout) and a matching practice map "
        "drawn from real LSOAs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="directory to write the two CSV files into")
        parser.add_argument("--practices", type=int, default=6_300)
        parser.add_argument("--seed", type=int, default=2025)

    def handle(self, *args, out, practices, seed, **options):
        result = generate(out, practices=practices, seed=seed)
        self.stdout.write(
            f"{result['rows']:,} rows for {result['practices']:,} practices "
            f"({result['patients']:,} patients) in {result['registrations']}; map in {result['practice_map']}"
        )
