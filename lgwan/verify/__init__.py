"""``lgwan verify``: build test cases from the topology and the active model, send real packets
from inside the nodes, compare with the expected verdicts, and report.

    cases.py   which cases to run (the policy matrix, wire properties, attack probes)
    agent.py   the probe agent that runs inside a source node (scapy imported once)
    runner.py  runs cases concurrently through the agents, re-checks and captures failures
    report.py  terminal table, JSON, JUnit XML and a self-contained HTML page
"""
