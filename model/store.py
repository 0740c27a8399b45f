"""etcd's keyspace as a value: `Store`, one field per stored kind (model/kinds/), each kind's objects sorted
by uid (their creation order), the global revision and the next uid.

The behaviour around it (revisions as resourceVersions, members, quorum,
history) is model/components/etcd.py's; the cluster state (model/state.py)
holds a Store and depends on no component.
"""

from __future__ import annotations

from typing import Iterator, Tuple

from .objects import evolve

from . import kinds as _registry

# kind -> Store field, from the registry of kinds (model/kinds/).  The order is the order objects are
# listed in traces.
KIND_FIELDS = _registry.store_fields()


class _StoreMethods:
    __slots__ = ()

    def of(self, kind: str) -> tuple:
        return getattr(self, KIND_FIELDS[kind])

    def get(self, kind: str, namespace: str, name: str):
        for obj in getattr(self, KIND_FIELDS[kind]):
            m = obj.meta
            if m.name == name and m.namespace == namespace:
                return obj
        return None

    def by_uid(self, kind: str, uid: int):
        for obj in getattr(self, KIND_FIELDS[kind]):
            if obj.meta.uid == uid:
                return obj
        return None

    def objects(self) -> Iterator:
        for f in KIND_FIELDS.values():
            yield from getattr(self, f)

    def put(self, obj) -> "Store":
        """Write `obj` (matched by uid) at the next revision; returns the new store."""
        field = KIND_FIELDS[obj.kind]
        rev = self.revision + 1 if self.track_revisions else 0
        if obj.meta.resource_version != rev:
            obj = evolve(obj, meta=evolve(obj.meta, resource_version=rev))
        items = getattr(self, field)
        uid = obj.meta.uid
        for i, cur in enumerate(items):
            if cur.meta.uid == uid:
                items = items[:i] + (obj,) + items[i + 1:]
                break
        else:
            items = items + (obj,)
            if len(items) > 1 and items[-2].meta.uid > uid:
                items = tuple(sorted(items, key=lambda o: o.meta.uid))
        return evolve(self, revision=rev, **{field: items})

    def remove(self, obj) -> "Store":
        """Delete `obj` (by uid) at the next revision."""
        field = KIND_FIELDS[obj.kind]
        items = tuple(o for o in getattr(self, field) if o.meta.uid != obj.meta.uid)
        rev = self.revision + 1 if self.track_revisions else 0
        return evolve(self, revision=rev, **{field: items})

    def allocate_uid(self) -> Tuple[int, "Store"]:
        return self.next_uid, evolve(self, next_uid=self.next_uid + 1)


def _store_class():
    import attrs
    fields = {"revision": attrs.field(default=0), "next_uid": attrs.field(default=1),
              "track_revisions": attrs.field(default=False)}
    fields.update({f: attrs.field(default=()) for f in KIND_FIELDS.values()})
    cls = attrs.make_class("Store", fields, bases=(_StoreMethods,), frozen=True, cache_hash=True, slots=True)
    cls.__doc__ = "etcd's keyspace: each kind's objects sorted by uid (their creation order); a field per kind."
    cls.__module__ = __name__
    return cls


Store = _store_class()
