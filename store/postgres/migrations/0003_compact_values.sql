-- Version 3 stores users and the owners of unique index entries in
-- compact forms (identity's usercodec.go, internal/kv's ids.go) beside
-- the JSON and text that earlier versions hold. This build reads both, so
-- nothing is rewritten: the step records the version, so that a build
-- that knows only version 2 refuses the database instead of misreading
-- its new entries.
COMMENT ON TABLE gatehouse_kv IS 'Gatehouse key-value data; values may use the compact encodings of schema 3';
