-- The lenses of one moment belong to one drive: each segment says which lens recorded it.
-- Segments catalogued before this version came from single-lens drives: the front.
ALTER TABLE segments ADD COLUMN channel TEXT NOT NULL DEFAULT 'front'
    CHECK (channel IN ('front', 'rear', 'interior', 'option', 'tele'));

-- A drive's timeline: the segments of the first lens it has (front, rear, interior, option, tele
-- in that order; the front nearly always). Clips are cut from it and the drive's story is told
-- from it; the other lenses' files still count for storage, residencies and the loop recorders.
CREATE VIEW timeline_segments AS
SELECT s.* FROM segments s
WHERE s.channel = (
    SELECT m.channel FROM segments m WHERE m.drive_id = s.drive_id
    ORDER BY CASE m.channel WHEN 'front' THEN 0 WHEN 'rear' THEN 1 WHEN 'interior' THEN 2
                            WHEN 'option' THEN 3 ELSE 4 END
    LIMIT 1);
