"""SearchDocumentUpserted/Deleted -> the shop's full-text index (table `search_index`).

SQLite: an FTS5 virtual table; PostgreSQL: a generated tsvector column with a GIN index
(docs/CONTRACTS.md). Writes happen in the inbox transaction, so each event applies once. A
side table keeps the last applied `aggregate_version` per document, so a record that comes back
late from a retry topic cannot overwrite a newer version.
"""

from __future__ import annotations

import logging

from consumers.db import Transaction
from consumers.message import Event

logger = logging.getLogger(__name__)

_SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5("
    "document_id UNINDEXED, kind UNINDEXED, title, body)",
]
_POSTGRES_DDL = [
    "CREATE TABLE IF NOT EXISTS search_index (document_id text PRIMARY KEY, kind text, "
    "title text, body text, tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', "
    "coalesce(title,'') || ' ' || coalesce(body,''))) STORED)",
    "CREATE INDEX IF NOT EXISTS search_index_tsv ON search_index USING GIN (tsv)",
]
_VERSIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS search_index_versions (document_id VARCHAR(200) PRIMARY KEY, "
    "version BIGINT NOT NULL)"
)


class SearchIndexer:
    name = "search"
    topics = ("shop.search",)
    transactional = True

    def open(self, context) -> None:
        database = context.database
        ddl = _SQLITE_DDL if database.dialect == "sqlite" else _POSTGRES_DDL
        with database.transaction() as tx:
            for statement in [*ddl, _VERSIONS_DDL]:
                tx.execute(statement)

    def handle(self, event: Event, tx: Transaction) -> None:
        data = event.data
        if event.event_type not in ("SearchDocumentUpserted", "SearchDocumentDeleted"):
            logger.debug("ignoring %s", event.event_type)
            return
        document_id = data["document_id"]
        if not self._newer(tx, document_id, int(data["aggregate_version"])):
            logger.info("skipping stale %s for %s", event.event_type, document_id)
            return
        tx.execute("DELETE FROM search_index WHERE document_id = %s", (document_id,))
        if event.event_type == "SearchDocumentUpserted":
            tx.execute(
                "INSERT INTO search_index (document_id, kind, title, body) "
                "VALUES (%s, %s, %s, %s)",
                (document_id, data["kind"], data["title"], data["body"]),
            )

    @staticmethod
    def _newer(tx: Transaction, document_id: str, version: int) -> bool:
        """Record `version` for the document; False if a newer one was already applied."""
        changed = tx.execute(
            "INSERT INTO search_index_versions (document_id, version) VALUES (%s, %s) "
            "ON CONFLICT (document_id) DO UPDATE SET version = excluded.version "
            "WHERE search_index_versions.version <= excluded.version",
            (document_id, version),
        )
        return changed == 1

    def close(self) -> None:
        """Nothing to release: the runtime owns the database connection."""


def search(database, query: str, limit: int = 20) -> list[dict]:
    """The same query the web app runs for `GET /api/search/?q=` (used by tests and the CLI)."""
    if database.dialect == "sqlite":
        terms = " ".join('"' + t.replace('"', '""') + '"' for t in query.split())
        rows = database.fetchall(
            "SELECT document_id, kind, title FROM search_index WHERE search_index MATCH %s "
            "ORDER BY rank LIMIT %s", (terms, limit),
        )
    else:
        rows = database.fetchall(
            "SELECT document_id, kind, title FROM search_index "
            "WHERE tsv @@ plainto_tsquery('simple', %s) LIMIT %s", (query, limit),
        )
    return [{"document_id": r[0], "kind": r[1], "title": r[2]} for r in rows]
