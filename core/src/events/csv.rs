//! The motion CSV format: a header row naming columns, then one sample per line.
//!
//! Required columns `t,ax,ay,az` (seconds, m/s²); optional `gx,gy,gz` (rad/s, all three or
//! none) and `speed` (m/s); other columns are ignored; any order. Names are case-insensitive.
//! An optional field may be empty (e.g. `speed` only on lines with a GPS fix). Hand-parsed: the
//! format is too small for a CSV crate, and quoting is not used.

use std::io::{BufRead, BufReader, Lines, Read};

use super::{DetectedEvent, Detector, EventsError, MotionSample, Sensitivity};

/// Samples handed to the detector per batch by [`detect_csv`].
const BATCH: usize = 512;

/// Read a whole motion CSV into samples (for tests, tools and short files).
pub fn read_csv(reader: impl Read) -> Result<Vec<MotionSample>, EventsError> {
    CsvSamples::new(reader)?.collect()
}

/// Run a [`Detector`] over a motion CSV, streaming, and return every event including those
/// flushed at the end. Fails on the first malformed line.
pub fn detect_csv(
    reader: impl Read,
    sensitivity: Sensitivity,
) -> Result<Vec<DetectedEvent>, EventsError> {
    let mut detector = Detector::new(sensitivity);
    let mut events = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    for sample in CsvSamples::new(reader)? {
        batch.push(sample?);
        if batch.len() == BATCH {
            events.extend(detector.push(&batch));
            batch.clear();
        }
    }
    events.extend(detector.push(&batch));
    events.extend(detector.finish());
    Ok(events)
}

/// Column positions found in the header.
#[derive(Debug)]
struct Columns {
    names: Vec<String>,
    t: usize,
    acc: [usize; 3],
    gyro: Option<[usize; 3]>,
    speed: Option<usize>,
}

impl Columns {
    fn parse(header: &str) -> Result<Self, EventsError> {
        let header = header.trim_start_matches('\u{feff}');
        let names: Vec<String> = header.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
        let find = |n: &str| names.iter().position(|c| c == n);
        let need = |n: &str| find(n).ok_or_else(|| EventsError::MissingColumn(n.to_string()));
        let (t, acc) = (need("t")?, [need("ax")?, need("ay")?, need("az")?]);
        let gyro = match (find("gx"), find("gy"), find("gz")) {
            (Some(x), Some(y), Some(z)) => Some([x, y, z]),
            (None, None, None) => None,
            _ => return Err(EventsError::PartialGyro),
        };
        Ok(Self { t, acc, gyro, speed: find("speed"), names })
    }

    /// Fields a row needs to reach every used column.
    fn needed(&self) -> usize {
        let g = self.gyro.map_or(0, |g| g.into_iter().max().unwrap_or(0));
        [self.t, self.acc[0], self.acc[1], self.acc[2], g, self.speed.unwrap_or(0)]
            .into_iter()
            .max()
            .unwrap_or(0)
            + 1
    }
}

/// Iterator over the samples of a motion CSV.
struct CsvSamples<R: Read> {
    lines: Lines<BufReader<R>>,
    cols: Columns,
    line_no: usize,
    prev_t: Option<f64>,
}

impl<R: Read> CsvSamples<R> {
    fn new(reader: R) -> Result<Self, EventsError> {
        let mut lines = BufReader::new(reader).lines();
        let mut line_no = 0;
        loop {
            line_no += 1;
            match lines.next() {
                None => return Err(EventsError::Empty),
                Some(line) => {
                    let line = line?;
                    if !line.trim().is_empty() {
                        let cols = Columns::parse(&line)?;
                        return Ok(Self { lines, cols, line_no, prev_t: None });
                    }
                }
            }
        }
    }

    fn parse_line(&mut self, line: &str) -> Result<MotionSample, EventsError> {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let needed = self.cols.needed();
        if fields.len() < needed {
            return Err(EventsError::ShortRow { line: self.line_no, found: fields.len(), needed });
        }
        let c = &self.cols;
        let t = self.number(&fields, c.t)?;
        let [ax, ay, az] = [
            self.number(&fields, c.acc[0])?,
            self.number(&fields, c.acc[1])?,
            self.number(&fields, c.acc[2])?,
        ];
        let gyro = match c.gyro {
            Some([x, y, z])
                if !(fields[x].is_empty() && fields[y].is_empty() && fields[z].is_empty()) =>
            {
                Some([self.number(&fields, x)?, self.number(&fields, y)?, self.number(&fields, z)?])
            }
            _ => None,
        };
        let speed = match c.speed {
            Some(i) if !fields[i].is_empty() => Some(self.speed(&fields, i)?),
            _ => None,
        };
        self.check_time(t)?;
        Ok(MotionSample { t, ax, ay, az, gyro, speed_mps: speed })
    }

    fn number(&self, fields: &[&str], i: usize) -> Result<f64, EventsError> {
        let raw = fields.get(i).copied().unwrap_or("");
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.bad(i, raw)),
        }
    }

    fn speed(&self, fields: &[&str], i: usize) -> Result<f64, EventsError> {
        let v = self.number(fields, i)?;
        if v < 0.0 { Err(self.bad(i, fields[i])) } else { Ok(v) }
    }

    fn bad(&self, i: usize, raw: &str) -> EventsError {
        let column = self.cols.names.get(i).cloned().unwrap_or_default();
        EventsError::BadNumber { line: self.line_no, column, value: raw.to_string() }
    }

    fn check_time(&mut self, t: f64) -> Result<(), EventsError> {
        if let Some(prev) = self.prev_t.filter(|&p| t <= p) {
            return Err(EventsError::NonIncreasingTime { line: self.line_no, t, prev });
        }
        self.prev_t = Some(t);
        Ok(())
    }
}

impl<R: Read> Iterator for CsvSamples<R> {
    type Item = Result<MotionSample, EventsError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line_no += 1;
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(e) => return Some(Err(e.into())),
            };
            if !line.trim().is_empty() {
                return Some(self.parse_line(&line));
            }
        }
    }
}
