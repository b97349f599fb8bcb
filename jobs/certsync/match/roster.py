"""The roster's side of matching: rows indexed by e-mail, name, organisation and file column."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from certsync.names import compact, local_key, name_keys, surname_variants
from certsync.records import Agent


@dataclass(slots=True)
class RosterIndex:
    by_email: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    """Both orders: for a bare CN and for file names."""
    by_ordered: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    """Given name then surname: for GN + SN."""
    by_local: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_siren: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_org_name: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    by_file: dict[str, list[Agent]] = field(default_factory=lambda: defaultdict(list))
    keys: dict[int, frozenset[str]] = field(default_factory=dict)
    okeys: dict[int, frozenset[str]] = field(default_factory=dict)


def index_roster(agents: Iterable[Agent], file_refs: Mapping[int, str]) -> RosterIndex:
    index = RosterIndex()
    for agent in agents:
        okeys, keys = name_keys(agent.prenom, agent.nom, agent.full_name)
        index.keys[agent.row], index.okeys[agent.row] = keys, okeys
        if agent.email:
            index.by_email[agent.email_key].append(agent)
            index.by_local[local_key(agent.email_key)].append(agent)
        for key in keys:
            index.by_name[key].append(agent)
        for key in okeys:
            index.by_ordered[key].append(agent)
        if agent.siren:
            index.by_siren[agent.siren].append(agent)
        if agent.organisation:
            index.by_org_name[compact(agent.organisation)].append(agent)
        if agent.row in file_refs:
            index.by_file[file_refs[agent.row]].append(agent)
    return index


@dataclass(frozen=True, slots=True)
class Block:
    """One organisation's rows, laid out for fuzzy scoring (built once per organisation)."""

    agents: tuple[Agent, ...]
    keys: list[str]
    """Every name key of every row: given name first for GN + SN, both orders for a bare CN."""
    owners: list[int]
    """Row number owning each key."""
    by_row: dict[int, Agent]
    by_surname: dict[str, list[Agent]]
    """Rows by compact surname (the compound-first-name rule)."""

    @classmethod
    def of(cls, agents: Sequence[Agent], keys_of: Mapping[int, frozenset[str]]) -> Block:
        keys: list[str] = []
        owners: list[int] = []
        by_surname: dict[str, list[Agent]] = defaultdict(list)
        for agent in agents:
            for key in keys_of[agent.row]:
                keys.append(key)
                owners.append(agent.row)
            for surname in surname_variants(agent.nom):
                by_surname[surname].append(agent)
        by_row = {a.row: a for a in agents}
        return cls(tuple(agents), keys, owners, by_row, dict(by_surname))


def rows_of(agents: Iterable[Agent]) -> set[int]:
    """Row numbers: rows identify agents (comparing whole records is needlessly slow)."""
    return {a.row for a in agents}


def unique(agents: Iterable[Agent]) -> list[Agent]:
    return sorted({a.row: a for a in agents}.values(), key=lambda a: a.row)
