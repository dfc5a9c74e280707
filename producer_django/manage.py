#!/usr/bin/env python
"""Django's command line for the declared project: `python -m producer_django.manage <command>`.

Uses DJANGO_SETTINGS_MODULE when set, else the declaration's `django_settings`.
"""

import os
import sys


def main() -> None:
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        from schemas import project

        declared = project.current()
        declared.activate()
        if declared.django_settings:
            os.environ["DJANGO_SETTINGS_MODULE"] = declared.django_settings
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
