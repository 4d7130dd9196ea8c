-- Incidents from the camera: a file the camera locked or filed as an event (its G-sensor, or
-- its event button) is an incident of kind `camera_locked`, and its clip has that reason.
-- SQLite cannot alter a CHECK constraint, so `events` and `clips` are rebuilt with every row,
-- index, trigger and foreign key kept (foreign key enforcement is off while migrations run;
-- `PRAGMA foreign_key_check` runs after this one).

CREATE TABLE events_new (
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
INSERT INTO events_new (id, drive_id, kind, at_ms, peak_g, duration_ms, lat, lon, source,
                        created_at_ms)
    SELECT id, drive_id, kind, at_ms, peak_g, duration_ms, lat, lon, source, created_at_ms
    FROM events;

CREATE TABLE clips_new (
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
INSERT INTO clips_new (id, drive_id, event_id, reason, start_ms, end_ms, state, phone_file,
                       size_bytes, sha256, created_at_ms, cloud_key, peak_g, lat, lon,
                       telemetry_file, telemetry_bytes)
    SELECT id, drive_id, event_id, reason, start_ms, end_ms, state, phone_file, size_bytes,
           sha256, created_at_ms, cloud_key, peak_g, lat, lon, telemetry_file, telemetry_bytes
    FROM clips;

-- Dropping a table drops its indexes and triggers; the usage triggers must not fire on the copy.
DROP TABLE clips;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
ALTER TABLE clips_new RENAME TO clips;

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
