#!/usr/bin/env python
import os
import sys
from importlib import import_module

# Commands that use neither the database nor the app registry (nor run system checks): they run
# without django.setup(), which would import every installed app, its models and its admin, for
# nothing. The same Command class runs either way, with the same arguments and output.
STANDALONE_COMMANDS = {"cdr_decode": "cdr.management.commands.cdr_decode"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        if len(sys.argv) > 1 and sys.argv[1] in STANDALONE_COMMANDS:
            import_module(STANDALONE_COMMANDS[sys.argv[1]]).Command().run_from_argv(sys.argv)
            return
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # a configuration gap: one line, no traceback
        sys.exit(f"configuration error: {exc}")


if __name__ == "__main__":
    main()
