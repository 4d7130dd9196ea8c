-- Phone storage accounting: what Dashkeep's files take on the phone, kept exact by triggers so
-- the loop recorder's decision never sums 100,000 rows.

CREATE TABLE phone_usage (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    segment_bytes   INTEGER NOT NULL,
    telemetry_bytes INTEGER NOT NULL,
    clip_bytes      INTEGER NOT NULL
);
INSERT INTO phone_usage (id, segment_bytes, telemetry_bytes, clip_bytes) VALUES (1,
    (SELECT COALESCE(SUM(size_bytes), 0) FROM segments WHERE phone_state IS NOT NULL),
    (SELECT COALESCE(SUM(size_bytes), 0) FROM telemetry),
    (SELECT COALESCE(SUM(size_bytes), 0) FROM clips WHERE phone_file IS NOT NULL));

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

-- The loop recorder walks phone copies oldest drive first.
CREATE INDEX segments_phone_order ON segments(drive_id, index_in_drive)
    WHERE phone_state = 'present';
CREATE INDEX clips_by_drive ON clips(drive_id, state);
