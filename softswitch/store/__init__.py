"""The store: all SQL of the switch lives in this package, on SQLite or PostgreSQL.

`Store` opens the database named by ``[store] url`` (`engine.connect`), applies the
numbered migrations (`migrations`) and owns the switch core's tables (meta, extensions,
bindings). Each further domain (accounts, CDRs, campaigns, ...) has its own module here
with a repository class that takes `store.db` (an `engine.Database`); its SQL is
written once, with ``?`` placeholders and syntax both engines run.
"""

from .database import Binding, Extension, Store

__all__ = ["Binding", "Extension", "Store"]
