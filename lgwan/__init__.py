"""lgwan-lab: an emulator of Japan's local-government network and its Government Cloud link.

The data flows through the package in one direction:

    topology file --(topology.py)--> validated model --(compiler/)--> Plan (plan.py)
        --(runtime/)--> namespaces, links, firewalls, daemons --(verify)--> report

Only ``runtime/`` touches the kernel; everything before it is pure and unit-tested.
"""

__version__ = "0.1.0"
