"""Splits pgsync's `credits` list (person_film_work rows with their person) by role.

pgsync's schema can nest `person` through `person_film_work`, but it cannot filter a child by a
column of the through table (`role`), nor add name lists. This plugin does the remaining step on
each document, in pgsync's own plugin hook, so the documents match pg2es's shape:
actors/writers/directors as [{id, name}] plus actors_names/writers_names/director, and every
list sorted by name then id (pg2es's order).
"""

from pgsync import plugin

ROLES = (("actor", "actors", "actors_names"),
         ("director", "directors", "director"),
         ("writer", "writers", "writers_names"))


def _key(item):
    name = item.get("name")
    # pg2es sorts by (name, id) with Rust ordering: a missing name (None) first, then by code point.
    return (name is not None, name or "", item.get("id") or "")


class MoviesCredits(plugin.Plugin):
    name = "MoviesCredits"

    def transform(self, doc: dict, **kwargs) -> dict:
        people = {role: [] for role, _, _ in ROLES}
        for credit in doc.pop("credits", None) or ():
            person = (credit or {}).get("person")
            bucket = people.get((credit or {}).get("role"))
            if person and bucket is not None:
                bucket.append({"id": person["id"], "name": person["name"]})
        for role, field, names in ROLES:
            nested = sorted(people[role], key=_key)
            doc[field] = nested
            doc[names] = [person["name"] for person in nested]
        doc["genre"] = sorted(
            ({"id": g["id"], "name": g.get("name")} for g in doc.get("genre") or () if g),
            key=_key,
        )
        return doc
