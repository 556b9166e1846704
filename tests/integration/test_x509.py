"""X.509 authentication of the Government Cloud tunnels: a lab CA made at deploy time, a
certificate per charon, and a tunnel that a certificate from another CA cannot bring up."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

from lgwan.runtime import ipsec
from lgwan.runtime.probes import run_probes
from lgwan.runtime.state import LabState
from lgwan.topology import cloud_service_address

from .conftest import deployed

TOPOLOGY = """\
name: {name}
relay_router: {{auth: x509}}
prefectures:
  - name: kanagawa
    municipalities:
      - {{name: yokohama, vlan: 101}}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with deployed(tmp_path_factory, TOPOLOGY) as lab:
        yield lab


def test_tunnel_authenticates_with_certificates_and_carries_traffic(lab):
    plan, topo = lab
    d = LabState(plan.lab).node_dir("yokohama-lgr")
    assert "secrets" not in (d / "swanctl.conf").read_text()  # no pre-shared key anywhere
    with ipsec.session(d) as v:
        conn = next(iter(next(iter(v.list_conns())).values()))
        certs = list(v.list_certs({"type": "X509"}))
    assert conn["local-1"]["class"] == b"public key" and conn["remote-1"]["class"] == b"public key"
    flags = sorted(c["flag"] for c in certs)
    assert flags == [b"CA", b"NONE", b"NONE"]  # the lab CA, our certificate, the relay's (received in IKE)
    peer = next(c for c in certs if c["flag"] == b"NONE" and "has_privkey" not in c)
    assert b"relay.jlis.example" in peer["data"]
    row = next(r for r in ipsec.tunnels(plan) if r["municipality"] == "yokohama")
    assert row["auth"] == "x509" and row["child"] == "INSTALLED"
    r = run_probes(plan, "yokohama-nu-term", [{"kind": "connect", "dst": cloud_service_address(topo, 0),
                                                "port": 443, "timeout": 3}])
    assert r[0]["answered"] and r[0]["detail"].startswith("lgwan yokohama-juki"), r


def kill_charon(d) -> None:
    from lgwan.runtime import process

    pid = ipsec.charon_pid(d)
    if pid:
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while process.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)


def test_a_certificate_from_another_ca_is_refused(lab, tmp_path):
    plan, _ = lab
    d = LabState(plan.lab).node_dir("yokohama-lgr")
    x509 = d / "x509"
    saved = tmp_path / "saved"
    shutil.copytree(x509, saved)
    # a rogue CA issues a certificate for the same identity
    rogue = tmp_path / "rogue"
    rogue.mkdir()
    (rogue / "ca.key").write_bytes(ipsec._pki("--gen", "--type", "ed25519", "--outform", "der"))
    (rogue / "ca.der").write_bytes(ipsec._pki("--self", "--ca", "--in", str(rogue / "ca.key"), "--type", "ed25519",
                                              "--dn", "CN=rogue CA", "--outform", "der"))
    # with a key of its own (the same key would match the relay's cached, genuine certificate)
    (x509 / "key.der").write_bytes(ipsec._pki("--gen", "--type", "ed25519", "--outform", "der"))
    pub = ipsec._pki("--pub", "--in", str(x509 / "key.der"), "--type", "priv", "--outform", "der")
    (x509 / "cert.der").write_bytes(ipsec._pki(
        "--issue", "--cacert", str(rogue / "ca.der"), "--cakey", str(rogue / "ca.key"), "--type", "pub",
        "--dn", "CN=yokohama.lgwan.example", "--san", "yokohama.lgwan.example", "--outform", "der", stdin=pub))
    try:
        kill_charon(d)
        with pytest.raises(RuntimeError, match="no CHILD_SA installed"):
            ipsec.restart(plan, "yokohama-lgr", timeout=8)
        assert ipsec.tunnel_state(d).get("child") != "INSTALLED"
    finally:
        shutil.rmtree(x509)
        shutil.copytree(saved, x509)
        kill_charon(d)
        ipsec.restart(plan, "yokohama-lgr", timeout=30)
    assert ipsec.tunnel_state(d)["child"] == "INSTALLED"
