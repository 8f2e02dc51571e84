"""``python -m mesos_framework``: the command line."""

from mesos_framework.cli import main

if __name__ == "__main__":
    main()
