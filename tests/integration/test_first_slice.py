"""One municipality, real packets: the segment firewall passes what the model allows and drops the rest."""

from lgwan.runtime.probes import run_probes


def test_allowed_screen_transfer_passes_and_denied_flows_are_dropped(lab):
    # row 8 (alpha): LGWAN terminal -> virtual browser in the internet segment, screen port only
    allowed = run_probes(lab, "yokohama-lg-term", [
        {"kind": "tcp", "dst": "10.1.30.11", "port": 3389},
        {"kind": "connect", "dst": "10.1.30.11", "port": 3389},
    ])
    assert allowed[0]["answered"], allowed[0]
    assert allowed[0]["reply_src"] == "10.1.30.11"
    # the banner names who answered and the source address it saw
    assert allowed[1]["detail"] == "lgwan yokohama-in-vb tcp/3389 from 10.1.20.10"

    # the same host on another port, and number_use -> lgwan (row 5): no answer at all
    denied = run_probes(lab, "yokohama-lg-term", [
        {"kind": "tcp", "dst": "10.1.30.11", "port": 3390, "timeout": 0.5},
    ]) + run_probes(lab, "yokohama-nu-term", [
        {"kind": "tcp", "dst": "10.1.20.12", "port": 3389, "timeout": 0.5},
        {"kind": "udp", "dst": "10.1.20.12", "port": 3389, "timeout": 0.5},
        {"kind": "icmp", "dst": "10.1.20.12", "timeout": 0.5},
    ])
    assert [r["answered"] for r in denied] == [False] * 4, denied
    assert all(r["detail"] == "no answer" for r in denied), denied


def test_the_denied_packets_reach_the_firewall_and_die_there(lab):
    """The deny comes from the firewall's rule for matrix row 5, not from a broken path."""
    from lgwan.runtime import process
    from lgwan.runtime.state import LabState

    def deny_counter() -> int:
        out = process.run_in_node(lab.lab, lab.namespace("yokohama-fw"), "yokohama-fw",
                                  LabState(lab.lab).node_dir("yokohama-fw"),
                                  ["nft", "list", "chain", "inet", "lgwan", "forward"]).stdout
        line = next(line for line in out.splitlines() if 'iifname "nu0" oifname "lg0"' in line and 'comment "row 5"' in line)
        return int(line.split("packets ")[1].split()[0])

    before = deny_counter()
    run_probes(lab, "yokohama-nu-term", [{"kind": "tcp", "dst": "10.1.20.12", "port": 443,
                                          "timeout": 0.3, "retry": 0}])
    assert deny_counter() > before
    # and within a segment, traffic flows (same L2 switch, no firewall)
    same = run_probes(lab, "yokohama-lg-term", [{"kind": "connect", "dst": "10.1.20.12", "port": 25}])
    assert same[0]["answered"], same
