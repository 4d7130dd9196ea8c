-- A clip carries the GPS and G-sensor data of its window as a clip-relative sidecar file.

ALTER TABLE clips ADD COLUMN telemetry_file TEXT;
ALTER TABLE clips ADD COLUMN telemetry_bytes INTEGER NOT NULL DEFAULT 0;

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
