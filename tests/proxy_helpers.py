"""A fake netfilter for the service proxy's tests without root: it applies
iptables-restore --noflush input to in-memory tables with iptables' rules
(a chain line creates or flushes, -A needs the chain, -D needs an identical
rule, -X refuses a chain still jumped to) and answers iptables-save. A whole
input applies or nothing does, as one restore transaction."""

from __future__ import annotations

import copy

from pyk8s.proxy.iptables import IptablesError

BUILTIN = {
    "filter": ["INPUT", "FORWARD", "OUTPUT"],
    "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
}


class FakeIptables:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, list[str]]] = {
            t: {c: [] for c in chains} for t, chains in BUILTIN.items()
        }
        self.restores: list[str] = []
        self.fail_next = 0  # restores to refuse (as a failing iptables-restore would)

    async def restore(self, text: str) -> None:
        if not text:
            return
        if self.fail_next:
            self.fail_next -= 1
            raise IptablesError("iptables-restore exited 1: injected failure")
        tables = copy.deepcopy(self.tables)
        current: dict[str, list[str]] | None = None
        for n, line in enumerate(text.splitlines(), 1):
            try:
                current = _apply(tables, current, line)
            except (KeyError, ValueError, IndexError) as err:
                raise IptablesError(f"line {n} failed: {line!r}: {err}") from None
        self.tables = tables
        self.restores.append(text)

    async def save(self) -> str:
        out = []
        for table, chains in self.tables.items():
            out.append(f"*{table}")
            for name in chains:
                policy = "ACCEPT" if name in BUILTIN[table] else "-"
                out.append(f":{name} {policy} [0:0]")
            for name, rules in chains.items():
                out.extend(f"-A {name} {rule}" for rule in rules)
            out.append("COMMIT")
        return "\n".join(out) + "\n"

    def rules(self, table: str, chain: str) -> list[str]:
        return self.tables[table][chain]

    def chains_with(self, prefix: str) -> set[str]:
        return {c for chains in self.tables.values() for c in chains if c.startswith(prefix)}


TARGETS = {"ACCEPT", "DROP", "REJECT", "RETURN", "MARK", "MASQUERADE", "DNAT", "SNAT"}


def _check_target(chains: dict[str, list[str]], rule: str) -> None:
    if " -j " not in f" {rule}":
        return
    target = f" {rule}".split(" -j ", 1)[1].split()[0]
    if target not in TARGETS and target not in chains:
        raise ValueError(f"no chain {target}")


def _apply(tables, current, line: str):
    if line.startswith("*"):
        return tables[line[1:]]
    if line == "COMMIT" or not line:
        return None
    if current is None:
        raise ValueError("rule outside a table")
    if line.startswith(":"):
        current[line[1:].split()[0]] = []
        return current
    op, chain, *rest = line.split(" ", 2)
    rule = rest[0] if rest else ""
    if op == "-A":
        _check_target(current, rule)
        current[chain].append(rule)
    elif op == "-I":
        position, rule = rule.split(" ", 1)
        _check_target(current, rule)
        current[chain].insert(int(position) - 1, rule)
    elif op == "-D":
        current[chain].remove(rule)
    elif op == "-X":
        if any(r.endswith(f"-j {chain}") for rules in current.values() for r in rules):
            raise ValueError(f"chain {chain} is still referenced")
        del current[chain]
    else:
        raise ValueError(f"unknown operation {op}")
    return current
