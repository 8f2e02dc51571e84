"""``python -m mesos_framework.local``: run a local cluster in the foreground."""

from mesos_framework.local.cli import main

main()
