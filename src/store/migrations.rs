//! The schema of both backends, as numbered migrations. Version N is the first N entries
//! applied; both backends have the same numbers, so `db status` means the same on each.
//!
//! A backend applies the missing ones at open inside one transaction (all or none),
//! records the version in the database (SQLite: `PRAGMA user_version`; PostgreSQL: the
//! `stripe_mcp_schema` table, one row per version), and refuses to open a database whose
//! version is newer than [`LATEST`]. Never edit a released migration: add one.

/// The newest schema version this build knows.
pub const LATEST: i64 = SQLITE.len() as i64;

/// SQLite, version 1 (the ledger as first released), 2 (hook leases, spending,
/// audit), 3 (the Stripe account of each order), 4 (the audit row's account and caller)
/// and 5 (the books).
pub const SQLITE: &[&str] = &[
    "
CREATE TABLE IF NOT EXISTS events (
    id          TEXT PRIMARY KEY,          -- evt_...: each one is recorded once
    type        TEXT NOT NULL,
    created     INTEGER NOT NULL,          -- Stripe's created, Unix seconds
    livemode    INTEGER NOT NULL,
    session_id  TEXT,                      -- the Checkout Session it concerns, if any
    outcome     TEXT NOT NULL,             -- what it did to the order, for people reading the table
    received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    session_id          TEXT PRIMARY KEY,  -- cs_...
    status              TEXT NOT NULL CHECK (status IN ('awaiting_payment', 'paid', 'payment_failed', 'expired')),
    amount_total        INTEGER,
    currency            TEXT,
    customer_email      TEXT,
    metadata            TEXT NOT NULL,     -- JSON object of strings
    client_reference_id TEXT,
    payment_intent      TEXT,
    livemode            INTEGER NOT NULL,
    last_event_id       TEXT NOT NULL,
    last_event_type     TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, updated_at);
CREATE TABLE IF NOT EXISTS fulfillments (
    session_id          TEXT PRIMARY KEY REFERENCES orders (session_id), -- once per order, by construction
    event_id            TEXT NOT NULL,
    amount_total        INTEGER,
    currency            TEXT,
    customer_email      TEXT,
    metadata            TEXT NOT NULL,
    product_id          TEXT,
    client_reference_id TEXT,
    payment_intent      TEXT,
    livemode            INTEGER NOT NULL,
    fulfilled_at        INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hooks (
    session_id  TEXT PRIMARY KEY REFERENCES fulfillments (session_id),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'failed', 'done')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated_at  INTEGER NOT NULL,
    done_at     INTEGER
);
",
    "
ALTER TABLE hooks ADD COLUMN lease_owner TEXT;     -- the claim token of the process running it
ALTER TABLE hooks ADD COLUMN lease_until INTEGER;  -- Unix seconds; past it, another process may take over
CREATE INDEX hooks_due ON hooks (state, updated_at);
CREATE TABLE spend (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    scope       TEXT NOT NULL,             -- tenant name, '' when local
    kind        TEXT NOT NULL,             -- refund, take
    currency    TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    state       TEXT NOT NULL CHECK (state IN ('held', 'kept', 'released')),
    at          INTEGER NOT NULL           -- Unix seconds of the reservation
);
CREATE INDEX spend_window ON spend (scope, kind, currency, at);
CREATE TABLE audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    tenant          TEXT NOT NULL,
    tool            TEXT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    amount          INTEGER,
    currency        TEXT,
    object_id       TEXT,
    idempotency_key TEXT,
    confirmation    TEXT NOT NULL,
    limit_decision  TEXT NOT NULL,
    outcome         TEXT NOT NULL DEFAULT 'unknown',
    http_status     INTEGER,
    request_id      TEXT,
    error           TEXT
);
CREATE INDEX audit_by_time ON audit (at, id);
CREATE INDEX audit_by_tenant ON audit (tenant, at, id);
",
    "
-- Version 3: every order belongs to the Stripe account it came from (the event's
-- `account` for Connect, else the receiver's --account), so a read can be scoped to
-- the accounts a caller may act on. '' marks orders recorded before (or without) it.
ALTER TABLE orders ADD COLUMN account TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_by_account ON orders (account, updated_at);
",
    // 4: what an audit row adds for issue 18: the connected account written to and the
    // caller (an OAuth subject or key fingerprint), where known.
    "
ALTER TABLE audit ADD COLUMN account TEXT;
ALTER TABLE audit ADD COLUMN caller TEXT;
",
    // 5: the books (balance transactions kept per Stripe account, and the ranges read).
    "
CREATE TABLE books_txns (
    account            TEXT NOT NULL,     -- acct_...: whose books; read only within a scope that sees it
    id                 TEXT NOT NULL,     -- txn_...
    amount             INTEGER NOT NULL,  -- minor units; never changes once created
    fee                INTEGER NOT NULL,
    net                INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    type               TEXT,
    reporting_category TEXT,
    source             TEXT,              -- only a dispute's id (du_, dp_)
    created            INTEGER NOT NULL,  -- Unix seconds
    PRIMARY KEY (account, id)
);
CREATE INDEX books_txns_by_time ON books_txns (account, created);
CREATE TABLE books_ranges (
    account  TEXT NOT NULL,
    start_at INTEGER NOT NULL,            -- [start_at, end_at) read in full, Unix seconds
    end_at   INTEGER NOT NULL,
    PRIMARY KEY (account, start_at)
);
",
];

/// PostgreSQL, the same versions. Integers are BIGINT (Unix seconds, minor units).
pub const POSTGRES: &[&str] = &[
    "
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    created     BIGINT NOT NULL,
    livemode    BOOLEAN NOT NULL,
    session_id  TEXT,
    outcome     TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE TABLE orders (
    session_id          TEXT PRIMARY KEY,
    status              TEXT NOT NULL CHECK (status IN ('awaiting_payment', 'paid', 'payment_failed', 'expired')),
    amount_total        BIGINT,
    currency            TEXT,
    customer_email      TEXT,
    metadata            TEXT NOT NULL,
    client_reference_id TEXT,
    payment_intent      TEXT,
    livemode            BOOLEAN NOT NULL,
    last_event_id       TEXT NOT NULL,
    last_event_type     TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX orders_by_status ON orders (status, updated_at);
CREATE TABLE fulfillments (
    session_id          TEXT PRIMARY KEY REFERENCES orders (session_id),
    event_id            TEXT NOT NULL,
    amount_total        BIGINT,
    currency            TEXT,
    customer_email      TEXT,
    metadata            TEXT NOT NULL,
    product_id          TEXT,
    client_reference_id TEXT,
    payment_intent      TEXT,
    livemode            BOOLEAN NOT NULL,
    fulfilled_at        BIGINT NOT NULL
);
CREATE TABLE hooks (
    session_id  TEXT PRIMARY KEY REFERENCES fulfillments (session_id),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'failed', 'done')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated_at  BIGINT NOT NULL,
    done_at     BIGINT
);
",
    "
ALTER TABLE hooks ADD COLUMN lease_owner TEXT;
ALTER TABLE hooks ADD COLUMN lease_until BIGINT;
CREATE INDEX hooks_due ON hooks (state, updated_at);
CREATE TABLE spend (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount >= 0),
    state       TEXT NOT NULL CHECK (state IN ('held', 'kept', 'released')),
    at          BIGINT NOT NULL
);
CREATE INDEX spend_window ON spend (scope, kind, currency, at);
CREATE TABLE audit (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              BIGINT NOT NULL,
    tenant          TEXT NOT NULL,
    tool            TEXT NOT NULL,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    amount          BIGINT,
    currency        TEXT,
    object_id       TEXT,
    idempotency_key TEXT,
    confirmation    TEXT NOT NULL,
    limit_decision  TEXT NOT NULL,
    outcome         TEXT NOT NULL DEFAULT 'unknown',
    http_status     INTEGER,
    request_id      TEXT,
    error           TEXT
);
CREATE INDEX audit_by_time ON audit (at, id);
CREATE INDEX audit_by_tenant ON audit (tenant, at, id);
",
    "
-- Version 3: every order belongs to the Stripe account it came from (the event's
-- `account` for Connect, else the receiver's --account), so a read can be scoped to
-- the accounts a caller may act on. '' marks orders recorded before (or without) it.
ALTER TABLE orders ADD COLUMN account TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_by_account ON orders (account, updated_at);
",
    // 4: what an audit row adds for issue 18: the connected account written to and the
    // caller (an OAuth subject or key fingerprint), where known.
    "
ALTER TABLE audit ADD COLUMN account TEXT;
ALTER TABLE audit ADD COLUMN caller TEXT;
",
    // 5: the books.
    "
CREATE TABLE books_txns (
    account            TEXT NOT NULL,
    id                 TEXT NOT NULL,
    amount             BIGINT NOT NULL,
    fee                BIGINT NOT NULL,
    net                BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    type               TEXT,
    reporting_category TEXT,
    source             TEXT,
    created            BIGINT NOT NULL,
    PRIMARY KEY (account, id)
);
CREATE INDEX books_txns_by_time ON books_txns (account, created);
CREATE TABLE books_ranges (
    account  TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at   BIGINT NOT NULL,
    PRIMARY KEY (account, start_at)
);
",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions() {
        assert_eq!(SQLITE.len(), POSTGRES.len());
        assert_eq!(LATEST, 5);
    }
}
