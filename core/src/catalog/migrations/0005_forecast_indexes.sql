-- The forecast reads the most recent segments (the recording rate) and a camera's open
-- residencies (its overwrite order): both without scanning a year of driving.
CREATE INDEX segments_by_start ON segments(started_at_ms);
CREATE INDEX residencies_open_by_place ON residencies(place, segment_id)
    WHERE left_at_ms IS NULL AND segment_id IS NOT NULL;
