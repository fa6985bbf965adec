"""A proxy's rules as data, and the iptables-restore text that installs them.

A `Ruleset` maps table -> chain -> rule lines ("-A CHAIN ..."), every chain the
proxy's own (named with its prefix). `restore_text` writes what
`iptables-restore --noflush` needs to move the kernel from one ruleset to the
next while touching nothing else: a chain line (":CHAIN - [0:0]", which
creates or flushes) and the rules of each chain that changed, and a flush plus
"-X" for each chain no longer needed. Without a previous ruleset every chain is
written (a full sync). Chains other programs own are never named, and the
built-in chains only get the proxy's jump rules, inserted or deleted one by one.

`parse_save` reads `iptables-save` output back, so a proxy can find the chains
and jumps a previous run of itself left (restart, cleanup) by their prefix and
comment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

TABLES = ("filter", "nat")

Chains = dict[str, list[str]]


@dataclass
class Ruleset:
    tables: dict[str, Chains] = field(default_factory=lambda: {t: {} for t in TABLES})

    def chain(self, table: str, name: str) -> list[str]:
        """The rule list of a chain, created empty on first use."""
        return self.tables[table].setdefault(name, [])

    def add(self, table: str, chain: str, *parts: str) -> None:
        self.chain(table, chain).append(" ".join(("-A", chain, *parts)))

    def chains(self, table: str) -> list[str]:
        return list(self.tables[table])

    def render(self) -> str:
        """The full iptables-restore text (every chain declared, flushed and filled)."""
        return restore_text(self, None)


@dataclass(frozen=True)
class Jump:
    """A rule in a built-in chain that sends traffic into one of the proxy's chains."""

    table: str
    chain: str  # built-in: PREROUTING, OUTPUT, INPUT, FORWARD, POSTROUTING
    target: str
    match: tuple[str, ...] = ()

    def spec(self, comment: str) -> str:
        return " ".join(
            (*self.match, "-m", "comment", "--comment", f'"{comment}"', "-j", self.target)
        )


def _changed(new: Chains, old: Chains | None) -> list[str]:
    if old is None:
        return list(new)
    return [name for name, rules in new.items() if old.get(name) != rules]


def restore_text(
    new: Ruleset,
    old: Ruleset | None,
    *,
    delete: Mapping[str, Iterable[str]] | None = None,
    insert_jumps: Iterable[Jump] = (),
    comment: str = "",
) -> str:
    """iptables-restore input taking the kernel from `old` (None: unknown) to `new`;
    `delete` names further chains to remove, `insert_jumps` are prepended to their
    built-in chains. Empty when nothing changes."""
    jumps = list(insert_jumps)
    out: list[str] = []
    for table in TABLES:
        chains = new.tables[table]
        changed = _changed(chains, old.tables[table] if old is not None else None)
        gone = set(old.tables[table]) - set(chains) if old is not None else set()
        gone |= {c for c in (delete or {}).get(table, ()) if c not in chains}
        table_jumps = [j for j in jumps if j.table == table]
        if not (changed or gone or table_jumps):
            continue
        out.append(f"*{table}")
        out.extend(f":{name} - [0:0]" for name in (*changed, *sorted(gone)))
        for name in changed:
            out.extend(chains[name])
        out.extend(f"-I {j.chain} 1 {j.spec(comment)}" for j in table_jumps)
        out.extend(f"-X {name}" for name in sorted(gone))
        out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""


@dataclass
class SavedTable:
    chains: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


def parse_save(text: str) -> dict[str, SavedTable]:
    """iptables-save output as table -> chains and rule lines."""
    tables: dict[str, SavedTable] = {}
    current: SavedTable | None = None
    for line in text.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:].strip(), SavedTable())
        elif current is None or line.startswith(("#", "COMMIT")):
            continue
        elif line.startswith(":"):
            current.chains.append(line[1:].split(" ", 1)[0])
        elif line.startswith("-A "):
            current.rules.append(line)
    return tables


def own_chains(saved: Mapping[str, SavedTable], prefix: str) -> dict[str, set[str]]:
    """Chains named with `prefix` per table."""
    head = f"{prefix}-"
    return {t: {c for c in s.chains if c.startswith(head)} for t, s in saved.items() if t in TABLES}


def own_jumps(saved: Mapping[str, SavedTable], prefix: str, comment: str) -> dict[str, list[str]]:
    """Rules ("-A CHAIN ...") that carry the proxy's comment and jump to its chains."""
    tag = f'--comment "{comment}"'
    head = f"-j {prefix}-"
    out: dict[str, list[str]] = {}
    for table, saved_table in saved.items():
        if table not in TABLES:
            continue
        found = [r for r in saved_table.rules if tag in r and head in r]
        if found:
            out[table] = found
    return out


def has_jump(saved: Mapping[str, SavedTable], jump: Jump, comment: str) -> bool:
    table = saved.get(jump.table)
    if table is None:
        return False
    head, tag, tail = f"-A {jump.chain} ", f'--comment "{comment}"', f"-j {jump.target}"
    return any(r.startswith(head) and tag in r and r.endswith(tail) for r in table.rules)


def drifted(saved: Mapping[str, SavedTable], applied: Ruleset, prefix: str) -> bool:
    """Whether the kernel's chains of `prefix` differ from `applied` in names or rule
    counts (someone flushed or edited them): a cheap check before a partial sync."""
    head = f"{prefix}-"
    for table in TABLES:
        saved_table = saved.get(table) or SavedTable()
        counts = {c: 0 for c in saved_table.chains if c.startswith(head)}
        for rule in saved_table.rules:
            chain = rule.split(" ", 2)[1]
            if chain in counts:
                counts[chain] += 1
        expected = {name: len(rules) for name, rules in applied.tables[table].items()}
        if counts != expected:
            return True
    return False


def cleanup_text(saved: Mapping[str, SavedTable], prefix: str, comment: str) -> str:
    """iptables-restore input removing every chain and jump of `prefix` (empty if none)."""
    chains, jumps = own_chains(saved, prefix), own_jumps(saved, prefix, comment)
    out: list[str] = []
    for table in TABLES:
        names, rules = sorted(chains.get(table, ())), jumps.get(table, [])
        if not (names or rules):
            continue
        out.append(f"*{table}")
        out.extend(f":{name} - [0:0]" for name in names)
        out.extend("-D " + rule[3:] for rule in rules)
        out.extend(f"-X {name}" for name in names)
        out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""
