"""Who may see what (design §12), decided on the server for every page.

Roles come from the directory: a developer sees their own SUPs and their
teams' day pages; a delivery manager sees their teams (a client's delivery
managers: all of that client's teams); an HR worker sees and edits their
clients' SUPs, HR-only fields included; ``[mailsup] management`` sees
everything and the operator page. A page outside one's role is a 404, so a
page never tells whether what it names exists.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce

from peewee import Expression

from mailsup.config import Settings
from mailsup.models import Client, DeliveryManager, Membership, Org, Person, Sup, Team


@dataclass(frozen=True)
class Viewer:
    person: Person
    management: bool
    hr_clients: frozenset[int]
    dm_clients: frozenset[int]  # DeliveryManager of the client: all its teams
    teams: frozenset[int]  # member of
    dm_teams: frozenset[int]  # Team.delivery_manager
    team_pairs: frozenset[tuple[int, int]]  # (client id, developer id) of dm_teams' members

    @classmethod
    def of(cls, person: Person, settings: Settings) -> Viewer:
        addresses = {a.lower() for a in person.addresses()}
        dm_teams = list(Team.select(Team, Org).join(Org).where(Team.delivery_manager == person))
        pairs = {(team.org.client_id, m.person_id) for team in dm_teams
                 for m in Membership.select().where(Membership.team == team)}
        return cls(
            person=person,
            management=bool(addresses & set(settings.management)),
            hr_clients=frozenset(c.id for c in Client.select(Client.id)
                                 .where(Client.hr == person)),
            dm_clients=frozenset(d.client_id for d in DeliveryManager.select()
                                 .where(DeliveryManager.person == person)),
            teams=frozenset(m.team_id for m in Membership.select()
                            .where(Membership.person == person)),
            dm_teams=frozenset(t.id for t in dm_teams),
            team_pairs=frozenset(pairs),
        )

    # --- HR -----------------------------------------------------------------

    @property
    def is_hr(self) -> bool:
        return self.management or bool(self.hr_clients)

    def hr_of(self, client_id: int) -> bool:
        """May see and edit the HR-only fields of this client's SUPs."""
        return self.management or client_id in self.hr_clients

    def hr_client_ids(self) -> list[int] | None:
        """The clients of the HR queue; None = every client (management)."""
        return None if self.management else sorted(self.hr_clients)

    # --- SUPs ---------------------------------------------------------------

    def sees_sup(self, sup: Sup) -> bool:
        return (self.management or sup.developer_id == self.person.id
                or sup.client_id in self.hr_clients | self.dm_clients
                or (sup.client_id, sup.developer_id) in self.team_pairs)

    def sup_scope(self) -> Expression | None:
        """The SUPs this viewer may see, as a condition on ``Sup``; None = all."""
        if self.management:
            return None
        conditions = [Sup.developer == self.person.id]
        clients = self.hr_clients | self.dm_clients
        if clients:
            conditions.append(Sup.client.in_(sorted(clients)))
        by_client: dict[int, set[int]] = {}
        for client_id, developer_id in self.team_pairs:
            by_client.setdefault(client_id, set()).add(developer_id)
        conditions += [(Sup.client == c) & Sup.developer.in_(sorted(d))
                       for c, d in sorted(by_client.items())]
        return reduce(operator.or_, conditions)

    # --- people, clients, teams ----------------------------------------------

    def sees_person(self, person: Person) -> bool:
        if self.management or person.id == self.person.id:
            return True
        if any(developer == person.id for _, developer in self.team_pairs):
            return True
        clients = self.hr_clients | self.dm_clients
        return bool(clients) and Membership.select().join(Team).join(Org).where(
            (Membership.person == person) & Org.client.in_(sorted(clients))).exists()

    def sees_client(self, client: Client) -> bool:
        return (self.management or client.id in self.hr_clients | self.dm_clients
                or any(c == client.id for c, _ in self.team_pairs))

    def sees_team(self, team: Team) -> bool:
        return (self.management or team.id in self.teams | self.dm_teams
                or team.org.client_id in self.hr_clients | self.dm_clients)

    def team_ids(self) -> set[int]:
        """Teams whose day page this viewer may open (for the home page)."""
        if self.management:
            return {t.id for t in Team.select(Team.id)}
        ids = set(self.teams | self.dm_teams)
        clients = self.hr_clients | self.dm_clients
        if clients:
            ids |= {t.id for t in Team.select(Team.id).join(Org)
                    .where(Org.client.in_(sorted(clients)))}
        return ids
