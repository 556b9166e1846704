"""Generated topologies of N municipalities, for benchmarks and scale tests."""

from __future__ import annotations

PREFECTURES = ["hokkaido", "aomori", "iwate", "miyagi", "akita", "yamagata", "fukushima", "ibaraki",
               "tochigi", "gunma", "saitama", "chiba", "tokyo", "kanagawa", "niigata", "toyama"]


def generate(n: int, lab: str = "bench", per_prefecture: int = 10, model: str = "alpha") -> str:
    """YAML text of a lab with ``n`` municipalities, ``per_prefecture`` to a prefecture."""
    lines = [f"name: {lab}", f"model: {model}", "prefectures:"]
    for i in range(n):
        if i % per_prefecture == 0:
            lines += [f"  - name: {PREFECTURES[i // per_prefecture]}", "    municipalities:"]
        lines.append(f"      - {{name: m{i + 1:03d}, vlan: {100 + i + 1}}}")
    return "\n".join(lines) + "\n"
