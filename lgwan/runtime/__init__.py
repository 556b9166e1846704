"""The netns runtime: realise a Plan on this host, find it again, and remove it.

Everything the runtime creates carries the lab's name: namespaces are ``<lab>.<node>``, veths
and bridges live only inside those namespaces, processes run inside them with ``LGWAN_LAB=<lab>``
in their environment, and files live in ``/run/lgwan/<lab>/``. ``down`` finds all of it by
that name, with or without the state file, so it also cleans up after a crash or ``kill -9``.
"""
