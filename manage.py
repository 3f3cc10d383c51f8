#!/usr/bin/env python
"""Django's command-line utility for Config Console."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "configconsole.settings")
    # Migrations, imports and audit checks may rightly run longer than a request may; the app
    # servers keep the short default (README "Deployment").
    os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "0")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
