-- The phone's own digest of a vendor camera's file is now CRC-64/NVME (`storage::ContentHash`):
-- the checksum S3 keeps for objects, at a fraction of BLAKE3's CPU per byte. Segments digested
-- with SHA-256 or BLAKE3 keep theirs. SQLite cannot widen a CHECK in place, so a column with the
-- wider one takes the old column's values, the old column goes, and the new one takes its name.
ALTER TABLE segments ADD COLUMN digest_algorithm TEXT NOT NULL DEFAULT 'sha256'
    CHECK (digest_algorithm IN ('sha256', 'blake3', 'crc64nvme'));
UPDATE segments SET digest_algorithm = hash_algorithm;
ALTER TABLE segments DROP COLUMN hash_algorithm;
ALTER TABLE segments RENAME COLUMN digest_algorithm TO hash_algorithm;
