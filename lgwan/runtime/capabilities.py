"""Which kernel features this host has, tested for real at deploy time (never assumed).

- IPsec: ``kernel`` when an ESP XFRM state can be installed *and* an XFRM interface can be
  created (the lab routes inner traffic through ``ipsec0`` with either backend); otherwise
  ``kernel-libipsec`` (charon does ESP in userspace over a TUN device).
- Open vSwitch datapath: ``system`` when the ``ovs_datapath`` generic-netlink family exists (the
  openvswitch kernel module), otherwise ``netdev`` (userspace).

The tests run in a scratch namespace ``<lab>.caps`` (removed right after; ``down`` would find it
by its name too). The result is stored in the lab's state meta as ``backends`` and shown by
``lgwan status``.
"""

from __future__ import annotations

import subprocess

from pyroute2 import netns

ESP_STATE = ["xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x100",
             "mode", "tunnel", "enc", "cbc(aes)", "0x00112233445566778899aabbccddeeff",
             "auth-trunc", "hmac(sha256)", "0x" + "00112233445566778899aabbccddeeff" * 2, "128"]


def _ok(ns: str, args: list[str]) -> tuple[bool, str]:
    r = subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()


def detect(lab: str) -> dict[str, str]:
    ns = f"{lab}.caps"
    netns.create(ns)
    try:
        esp, esp_err = _ok(ns, ESP_STATE)
        xfrmi, xfrmi_err = _ok(ns, ["link", "add", "ipsec9", "type", "xfrm", "if_id", "9"])
    finally:
        netns.remove(ns)
    ovs = subprocess.run(["genl", "ctrl", "get", "name", "ovs_datapath"], capture_output=True, text=True)
    ipsec = "kernel" if esp and xfrmi else "kernel-libipsec"
    why = ("kernel ESP and XFRM interfaces present" if ipsec == "kernel" else
           f"no kernel ESP ({esp_err})" if not esp else f"no XFRM interfaces ({xfrmi_err})")
    return {
        "ipsec": ipsec,
        "ipsec_reason": why,
        "ovs_datapath": "system" if ovs.returncode == 0 else "netdev",
    }
