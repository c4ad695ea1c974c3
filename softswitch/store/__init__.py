"""SQLite storage (WAL mode, via sqlite-utils): all SQL of the switch lives in this package.

`Store` owns the connection and the switch core's tables (meta, extensions, bindings).
Each further domain (accounts, CDRs, campaigns, ...) has its own module here with a
repository class that takes `store.db` and creates its tables if missing, so one
package owns the whole schema and a PostgreSQL backend can replace it as a unit.
"""

from .database import Binding, Extension, Store

__all__ = ["Binding", "Extension", "Store"]
