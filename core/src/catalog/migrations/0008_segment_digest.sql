-- Which digest vouches for each segment. A Dashkeep camera lists every segment's SHA-256 and the
-- phone keeps it; a vendor camera lists none, and the phone's own digest of such a file is BLAKE3
-- (much faster; nothing outside the phone compares it). The column is renamed to a neutral name
-- and the algorithm recorded beside it: every segment catalogued before this migration was
-- hashed with SHA-256, which the default says.
ALTER TABLE segments RENAME COLUMN sha256 TO content_hash;
ALTER TABLE segments ADD COLUMN hash_algorithm TEXT NOT NULL DEFAULT 'sha256'
    CHECK (hash_algorithm IN ('sha256', 'blake3'));
