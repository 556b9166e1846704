"""The topology model: what a topology file may say, as typed pydantic models.

Every model forbids unknown keys. Fields left out get their value later, in ``topology.py``
(defaults from ``defaults.yml`` and the automatic address plan), so a file can stay short.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from netaddr import AddrFormatError, IPAddress, IPNetwork
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MODELS = ("alpha", "beta", "beta_prime", "alpha_prime")
ZONES = ("number_use", "lgwan", "internet")

NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def _name(max_len: int):
    def check(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a name (expected text)")
        if not NAME_RE.match(value) or value.endswith("-") or "--" in value:
            raise ValueError(
                f"'{value}' cannot become a namespace or interface name "
                "(use lower-case letters, digits and single hyphens, starting with a letter)"
            )
        if len(value) > max_len:
            raise ValueError(f"'{value}' is longer than {max_len} characters")
        return value

    return BeforeValidator(check)


def _cidr(value: object) -> str:
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"{value!r} is not a CIDR prefix such as 10.1.0.0/16")
    try:
        net = IPNetwork(value, version=4)
    except (AddrFormatError, ValueError, TypeError):
        raise ValueError(f"'{value}' is not a valid IPv4 CIDR prefix") from None
    if net.ip != net.network:
        raise ValueError(f"'{value}' has host bits set (did you mean {net.cidr}?)")
    return str(net.cidr)


def _address(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an IPv4 address")
    try:
        return str(IPAddress(value, version=4))
    except (AddrFormatError, ValueError, TypeError):
        raise ValueError(f"'{value}' is not a valid IPv4 address") from None


def _vlan(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a VLAN id (a whole number 1-4094)")
    if not 1 <= value <= 4094:
        raise ValueError(f"{value} is outside 1-4094")
    return value


def _port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"{value!r} is not a port number 1-65535")
    return value


LabName = Annotated[str, _name(16)]
Name = Annotated[str, _name(20)]
Cidr = Annotated[str, BeforeValidator(_cidr)]
Address = Annotated[str, BeforeValidator(_address)]
Vlan = Annotated[int, BeforeValidator(_vlan)]
Port = Annotated[int, BeforeValidator(_port)]
ModelName = Literal["alpha", "beta", "beta_prime", "alpha_prime"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Service(Strict):
    """A port a host listens on (the lab starts a responder for it)."""

    name: Name
    proto: Literal["tcp", "udp"] = "tcp"
    port: Port


class Host(Strict):
    name: Name
    role: Literal["terminal", "server", "virtual_browser", "sanitizer", "dns", "proxy"] = "server"
    address: Address | None = None
    services: list[Service] = Field(default_factory=list)
    # Recorded, not emulated: people and USB sticks are out of scope (domain.md).
    two_factor: bool | None = None
    removable_media: bool | None = None


class Segment(Strict):
    prefix: Cidr | None = None
    hosts: list[Host] | None = None


class Segments(Strict):
    number_use: Segment = Field(default_factory=Segment)
    lgwan: Segment = Field(default_factory=Segment)
    internet: Segment = Field(default_factory=Segment)


class CloudSystem(Strict):
    name: Name
    zone: Literal["number_use", "lgwan"]
    address: Address | None = None
    services: list[Service] = Field(default_factory=list)


class CloudTenant(Strict):
    prefix: Cidr | None = None
    systems: list[CloudSystem] | None = None


class Municipality(Strict):
    name: Name
    id: Annotated[int, Field(ge=1, le=250)] | None = None
    vlan: Vlan | None = None
    inside: Cidr | None = None
    lgwan_global: Cidr | None = None
    psk: str | None = None
    segments: Segments = Field(default_factory=Segments)
    cloud: CloudTenant = Field(default_factory=CloudTenant)


class SecurityCloud(Strict):
    proxy_port: Port = 8080


class Prefecture(Strict):
    name: Name
    municipalities: Annotated[list[Municipality], Field(min_length=1)]
    security_cloud: SecurityCloud = Field(default_factory=SecurityCloud)


class RelayRouter(Strict):
    shared_ip: Address = "203.0.113.1"
    service_range: Cidr = "203.0.113.64/26"
    auth: Literal["psk", "x509"] = "psk"


class InternetService(Strict):
    name: Name
    fqdn: str
    address: Address | None = None
    services: list[Service] = Field(default_factory=list)
    allow_listed: bool = False


class Internet(Strict):
    prefix: Cidr = "192.0.2.0/24"
    services: list[InternetService] | None = None


class LgwanBackbone(Strict):
    asp_prefix: Cidr = "198.18.255.0/24"
    asp: list[InternetService] | None = None


class Addressing(Strict):
    inside_pool: Cidr = "10.0.0.0/8"
    lgwan_global_pool: Cidr = "198.18.0.0/16"
    carrier_pool: Cidr = "198.19.0.0/16"
    transfer_pool: Cidr = "100.64.0.0/16"
    cloud_prefix: Cidr = "10.100.0.0/24"


class Topology(Strict):
    name: LabName
    model: ModelName = "alpha"
    prefectures: Annotated[list[Prefecture], Field(min_length=1)]
    relay_router: RelayRouter = Field(default_factory=RelayRouter)
    lgwan: LgwanBackbone = Field(default_factory=LgwanBackbone)
    internet: Internet = Field(default_factory=Internet)
    addressing: Addressing = Field(default_factory=Addressing)

    def municipalities(self) -> list[tuple[Prefecture, Municipality]]:
        return [(p, m) for p in self.prefectures for m in p.municipalities]
