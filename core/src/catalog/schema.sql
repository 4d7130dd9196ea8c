-- The catalog's schema as migrations 0001 to 0009 leave it (`SCHEMA_VERSION` in `mod.rs`), for a
-- catalog created from nothing: one script instead of replaying every migration, whose table
-- rebuilds and column renames each re-read the whole schema. Migrations after 0009 apply on top
-- of it as they do on an older catalog. A test (`a_new_catalog_has_the_schema_its_migrations_make`)
-- checks that both paths give the same tables, columns, constraints, indexes, triggers, views
-- and rows; after a new migration, this file may be brought up to date from a migrated catalog
-- (`SELECT sql FROM sqlite_master`), with `SCHEMA_VERSION`.

CREATE TABLE cameras (
    id            INTEGER PRIMARY KEY,
    serial        TEXT NOT NULL UNIQUE,
    model         TEXT NOT NULL,
    firmware      TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    feed_cursor   INTEGER NOT NULL DEFAULT 0,
    sd_capacity_bytes INTEGER NOT NULL DEFAULT 0,
    sd_used_bytes INTEGER NOT NULL DEFAULT 0,
    last_seen_ms  INTEGER NOT NULL
);
CREATE TABLE drives (
    id              INTEGER PRIMARY KEY,
    camera_id       INTEGER NOT NULL REFERENCES cameras(id),
    camera_drive_id TEXT NOT NULL,
    started_at_ms   INTEGER NOT NULL,
    ended_at_ms     INTEGER,
    locked          INTEGER NOT NULL DEFAULT 0,  -- the user protects it from the phone's loop recorder
    UNIQUE (camera_id, camera_drive_id)
);
CREATE INDEX drives_by_start ON drives(started_at_ms);
CREATE TABLE segments (
    id                INTEGER PRIMARY KEY,
    camera_id         INTEGER NOT NULL REFERENCES cameras(id),
    drive_id          INTEGER NOT NULL REFERENCES drives(id),
    camera_segment_id TEXT NOT NULL,
    camera_seq        INTEGER NOT NULL,
    index_in_drive    INTEGER NOT NULL,
    started_at_ms     INTEGER NOT NULL,
    duration_ms       INTEGER NOT NULL CHECK (duration_ms > 0),
    size_bytes        INTEGER NOT NULL CHECK (size_bytes > 0),
    content_hash      TEXT NOT NULL,
    camera_locked     INTEGER NOT NULL DEFAULT 0,
    telemetry_size    INTEGER NOT NULL,
    telemetry_sha256  TEXT NOT NULL,
    -- The phone's copy: the file name under videos/, named only once the file is complete.
    phone_file        TEXT,
    phone_state       TEXT CHECK (phone_state IN ('present', 'deleting')),
    channel           TEXT NOT NULL DEFAULT 'front'
                      CHECK (channel IN ('front', 'rear', 'interior', 'option', 'tele')),
    hash_algorithm    TEXT NOT NULL DEFAULT 'sha256'
                      CHECK (hash_algorithm IN ('sha256', 'blake3', 'crc64nvme')),
    UNIQUE (camera_id, camera_segment_id)
);
CREATE INDEX segments_by_drive ON segments(drive_id, index_in_drive);
CREATE INDEX segments_on_phone ON segments(phone_state) WHERE phone_state IS NOT NULL;
CREATE TABLE telemetry (
    segment_id     INTEGER PRIMARY KEY REFERENCES segments(id),
    phone_file     TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    accel_samples  INTEGER NOT NULL,
    gps_fixes      INTEGER NOT NULL
);
CREATE TABLE residencies (
    id            INTEGER PRIMARY KEY,
    segment_id    INTEGER REFERENCES segments(id),
    clip_id       INTEGER REFERENCES clips(id),
    place         TEXT NOT NULL CHECK (place IN ('camera', 'phone', 'cloud')),
    arrived_at_ms INTEGER NOT NULL,
    left_at_ms    INTEGER,
    left_reason   TEXT,
    CHECK ((segment_id IS NULL) <> (clip_id IS NULL))
);
CREATE UNIQUE INDEX residency_open_segment ON residencies(segment_id, place)
    WHERE left_at_ms IS NULL AND segment_id IS NOT NULL;
CREATE UNIQUE INDEX residency_open_clip ON residencies(clip_id, place)
    WHERE left_at_ms IS NULL AND clip_id IS NOT NULL;
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE phone_usage (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    segment_bytes   INTEGER NOT NULL,
    telemetry_bytes INTEGER NOT NULL,
    clip_bytes      INTEGER NOT NULL
);
INSERT INTO phone_usage (id, segment_bytes, telemetry_bytes, clip_bytes) VALUES (1, 0, 0, 0);
CREATE TRIGGER usage_segment_insert AFTER INSERT ON segments WHEN NEW.phone_state IS NOT NULL
BEGIN
    UPDATE phone_usage SET segment_bytes = segment_bytes + NEW.size_bytes WHERE id = 1;
END;
CREATE TRIGGER usage_segment_update AFTER UPDATE OF phone_state, size_bytes ON segments
BEGIN
    UPDATE phone_usage SET segment_bytes = segment_bytes
        + (CASE WHEN NEW.phone_state IS NOT NULL THEN NEW.size_bytes ELSE 0 END)
        - (CASE WHEN OLD.phone_state IS NOT NULL THEN OLD.size_bytes ELSE 0 END) WHERE id = 1;
END;
CREATE TRIGGER usage_segment_delete AFTER DELETE ON segments WHEN OLD.phone_state IS NOT NULL
BEGIN
    UPDATE phone_usage SET segment_bytes = segment_bytes - OLD.size_bytes WHERE id = 1;
END;
CREATE TRIGGER usage_telemetry_insert AFTER INSERT ON telemetry
BEGIN
    UPDATE phone_usage SET telemetry_bytes = telemetry_bytes + NEW.size_bytes WHERE id = 1;
END;
CREATE TRIGGER usage_telemetry_update AFTER UPDATE OF size_bytes ON telemetry
BEGIN
    UPDATE phone_usage SET telemetry_bytes = telemetry_bytes + NEW.size_bytes - OLD.size_bytes
        WHERE id = 1;
END;
CREATE TRIGGER usage_telemetry_delete AFTER DELETE ON telemetry
BEGIN
    UPDATE phone_usage SET telemetry_bytes = telemetry_bytes - OLD.size_bytes WHERE id = 1;
END;
CREATE INDEX segments_phone_order ON segments(drive_id, index_in_drive)
    WHERE phone_state = 'present';
CREATE TABLE cloud_uploads (
    clip_id         INTEGER PRIMARY KEY REFERENCES clips(id),
    state           TEXT NOT NULL CHECK (state IN ('queued', 'uploading', 'uploaded', 'failed')),
    mode            TEXT NOT NULL DEFAULT 'core' CHECK (mode IN ('core', 'platform')),
    allow_cellular  INTEGER NOT NULL DEFAULT 0,   -- "send now" over cellular whatever the policy
    upload_id       TEXT,                         -- the multipart upload in progress
    part_size       INTEGER,                      -- fixed with the upload id
    bytes_done      INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    queued_at_ms    INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL
);
CREATE INDEX cloud_uploads_by_state ON cloud_uploads(state, queued_at_ms);
CREATE TABLE cloud_parts (
    clip_id      INTEGER NOT NULL REFERENCES cloud_uploads(clip_id) ON DELETE CASCADE,
    upload_id    TEXT NOT NULL,
    part_number  INTEGER NOT NULL CHECK (part_number >= 1),
    size_bytes   INTEGER NOT NULL,
    part_id      TEXT NOT NULL,                   -- the ETag (with checksum) to complete with
    sha256       TEXT NOT NULL,                   -- of the part's bytes, base64 as S3 has it
    PRIMARY KEY (clip_id, part_number)
);
CREATE TABLE cloud_tombstones (
    cloud_key     TEXT PRIMARY KEY,
    clip_id       INTEGER,
    upload_id     TEXT,
    created_at_ms INTEGER NOT NULL,
    applied_at_ms INTEGER,
    last_error    TEXT
);
CREATE INDEX segments_by_start ON segments(started_at_ms);
CREATE INDEX residencies_open_by_place ON residencies(place, segment_id)
    WHERE left_at_ms IS NULL AND segment_id IS NOT NULL;
CREATE TABLE "events" (
    id            INTEGER PRIMARY KEY,
    drive_id      INTEGER REFERENCES drives(id),
    kind          TEXT NOT NULL CHECK (kind IN ('hard_brake', 'collision', 'camera_locked')),
    at_ms         INTEGER NOT NULL,
    peak_g        REAL NOT NULL,
    duration_ms   INTEGER NOT NULL,
    lat           REAL,
    lon           REAL,
    source        TEXT NOT NULL CHECK (source IN ('camera', 'phone', 'both')),
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE "clips" (
    id              INTEGER PRIMARY KEY,
    drive_id        INTEGER REFERENCES drives(id),
    event_id        INTEGER REFERENCES events(id),
    reason          TEXT NOT NULL
                    CHECK (reason IN ('hard_brake', 'collision', 'camera_locked', 'manual')),
    start_ms        INTEGER NOT NULL,
    end_ms          INTEGER NOT NULL CHECK (end_ms > start_ms),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'deleted')),
    phone_file      TEXT,
    size_bytes      INTEGER,
    sha256          TEXT,
    created_at_ms   INTEGER NOT NULL,
    cloud_key       TEXT,
    peak_g          REAL,
    lat             REAL,
    lon             REAL,
    telemetry_file  TEXT,
    telemetry_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX clips_by_cloud_key ON clips(cloud_key) WHERE cloud_key IS NOT NULL;
CREATE INDEX clips_by_drive ON clips(drive_id, state);
CREATE TRIGGER usage_clip_insert AFTER INSERT ON clips WHEN NEW.phone_file IS NOT NULL
BEGIN
    UPDATE phone_usage SET clip_bytes = clip_bytes + COALESCE(NEW.size_bytes, 0) WHERE id = 1;
END;
CREATE TRIGGER usage_clip_update AFTER UPDATE OF phone_file, size_bytes ON clips
BEGIN
    UPDATE phone_usage SET clip_bytes = clip_bytes
        + (CASE WHEN NEW.phone_file IS NOT NULL THEN COALESCE(NEW.size_bytes, 0) ELSE 0 END)
        - (CASE WHEN OLD.phone_file IS NOT NULL THEN COALESCE(OLD.size_bytes, 0) ELSE 0 END)
        WHERE id = 1;
END;
CREATE TRIGGER usage_clip_delete AFTER DELETE ON clips WHEN OLD.phone_file IS NOT NULL
BEGIN
    UPDATE phone_usage SET clip_bytes = clip_bytes - COALESCE(OLD.size_bytes, 0) WHERE id = 1;
END;
CREATE TRIGGER usage_clip_telemetry AFTER UPDATE OF telemetry_file, telemetry_bytes ON clips
BEGIN
    UPDATE phone_usage SET clip_bytes = clip_bytes
        + (CASE WHEN NEW.telemetry_file IS NOT NULL THEN NEW.telemetry_bytes ELSE 0 END)
        - (CASE WHEN OLD.telemetry_file IS NOT NULL THEN OLD.telemetry_bytes ELSE 0 END)
        WHERE id = 1;
END;
CREATE TRIGGER usage_clip_telemetry_delete AFTER DELETE ON clips
    WHEN OLD.telemetry_file IS NOT NULL
BEGIN
    UPDATE phone_usage SET clip_bytes = clip_bytes - OLD.telemetry_bytes WHERE id = 1;
END;
CREATE VIEW timeline_segments AS
SELECT s.* FROM segments s
WHERE s.channel = (
    SELECT m.channel FROM segments m WHERE m.drive_id = s.drive_id
    ORDER BY CASE m.channel WHEN 'front' THEN 0 WHEN 'rear' THEN 1 WHEN 'interior' THEN 2
                            WHEN 'option' THEN 3 ELSE 4 END
    LIMIT 1);
