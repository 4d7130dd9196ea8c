-- The cloud: a persisted, resumable upload queue, completed parts, delete tombstones, and a
-- clip identity that survives a reinstall.

-- The clip's identity in the cloud: a random 128-bit hex name chosen once, used in its object key
-- (accounts/<account>/clips/<cloud_key>.mp4). Never reused, so one clip is never two objects.
ALTER TABLE clips ADD COLUMN cloud_key TEXT;
-- What the sidecar carries that a restored clip has no events row for.
ALTER TABLE clips ADD COLUMN peak_g REAL;
ALTER TABLE clips ADD COLUMN lat REAL;
ALTER TABLE clips ADD COLUMN lon REAL;
CREATE UNIQUE INDEX clips_by_cloud_key ON clips(cloud_key) WHERE cloud_key IS NOT NULL;

-- One upload job per clip. queued -> uploading -> uploaded; failed needs the user.
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

-- Every part of the current multipart upload the store acknowledged, written as each completes.
CREATE TABLE cloud_parts (
    clip_id      INTEGER NOT NULL REFERENCES cloud_uploads(clip_id) ON DELETE CASCADE,
    upload_id    TEXT NOT NULL,
    part_number  INTEGER NOT NULL CHECK (part_number >= 1),
    size_bytes   INTEGER NOT NULL,
    part_id      TEXT NOT NULL,                   -- the ETag (with checksum) to complete with
    sha256       TEXT NOT NULL,                   -- of the part's bytes, base64 as S3 has it
    PRIMARY KEY (clip_id, part_number)
);

-- A clip the user deleted: its cloud objects are removed when the network allows, and a sync
-- never brings it back (rows stay after they are applied).
CREATE TABLE cloud_tombstones (
    cloud_key     TEXT PRIMARY KEY,
    clip_id       INTEGER,
    upload_id     TEXT,
    created_at_ms INTEGER NOT NULL,
    applied_at_ms INTEGER,
    last_error    TEXT
);
