-- The ordered key-value table that holds every Gatehouse record, index,
-- set, counter and expiry entry. bytea compares byte by byte (shorter
-- first on a common prefix), the same order bbolt keeps, so scans and
-- cursors behave identically on both backends.
CREATE TABLE gatehouse_kv (
    k bytea PRIMARY KEY,
    v bytea NOT NULL
);
