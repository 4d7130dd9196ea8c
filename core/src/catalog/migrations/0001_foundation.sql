-- Dashkeep catalog, version 1: cameras, drives, segments, telemetry, events, clips, residencies.
-- Times are milliseconds since the Unix epoch. Sizes are bytes.

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
    sha256            TEXT NOT NULL,
    camera_locked     INTEGER NOT NULL DEFAULT 0,
    telemetry_size    INTEGER NOT NULL,
    telemetry_sha256  TEXT NOT NULL,
    -- The phone's copy: the file name under videos/, named only once the file is complete.
    phone_file        TEXT,
    phone_state       TEXT CHECK (phone_state IN ('present', 'deleting')),
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

CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    drive_id      INTEGER REFERENCES drives(id),
    kind          TEXT NOT NULL CHECK (kind IN ('hard_brake', 'collision')),
    at_ms         INTEGER NOT NULL,
    peak_g        REAL NOT NULL,
    duration_ms   INTEGER NOT NULL,
    lat           REAL,
    lon           REAL,
    source        TEXT NOT NULL CHECK (source IN ('camera', 'phone', 'both')),
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE clips (
    id            INTEGER PRIMARY KEY,
    drive_id      INTEGER REFERENCES drives(id),
    event_id      INTEGER REFERENCES events(id),
    reason        TEXT NOT NULL CHECK (reason IN ('hard_brake', 'collision', 'manual')),
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER NOT NULL CHECK (end_ms > start_ms),
    state         TEXT NOT NULL CHECK (state IN ('pending', 'ready', 'deleted')),
    phone_file    TEXT,
    size_bytes    INTEGER,
    sha256        TEXT,
    created_at_ms INTEGER NOT NULL
);

-- Where each video lives, with when it arrived and when it left. Exactly one of segment_id and
-- clip_id is set. An open row (left_at_ms IS NULL) means the video is there now.
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
