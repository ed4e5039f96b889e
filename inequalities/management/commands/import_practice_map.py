from inequalities.management.import_command import ImportCommand


class Command(ImportCommand):
    kind = "practice_map"
