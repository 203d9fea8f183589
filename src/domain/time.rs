//! Timestamps: RFC 3339 UTC with milliseconds on the wire (`2024-01-20T10:30:00.000Z`), and
//! milliseconds since the Unix epoch inside. Written by hand because the Worker's clock comes from
//! JavaScript (`Date.now()`), and a date crate would add weight for two small conversions.

use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Why a timestamp string was refused; the message is shown to API users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError(pub &'static str);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

// Years 0000..=9999 are all RFC 3339 can write.
const MIN_MS: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

impl Timestamp {
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses any RFC 3339 date-time (`T` or space separator, `Z` or `±hh:mm` offset, any number
    /// of fraction digits, truncated to milliseconds) into UTC.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let b = text.trim().as_bytes();
        let mut p = Parser { b, i: 0 };
        let year = p.digits(4)?;
        p.expect(b'-')?;
        let month = p.digits(2)?;
        p.expect(b'-')?;
        let day = p.digits(2)?;
        match p.next() {
            Some(b'T' | b't' | b' ') => {}
            _ => return Err(TimestampError("expected an RFC 3339 timestamp such as 2024-01-20T10:30:00.000Z")),
        }
        let hour = p.digits(2)?;
        p.expect(b':')?;
        let minute = p.digits(2)?;
        p.expect(b':')?;
        let second = p.digits(2)?;
        let mut millis = 0i64;
        if p.peek() == Some(b'.') {
            p.i += 1;
            let start = p.i;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                let d = i64::from(p.b[p.i] - b'0');
                let pos = p.i - start;
                if pos < 3 {
                    millis += d * [100, 10, 1][pos];
                }
                p.i += 1;
            }
            if p.i == start {
                return Err(TimestampError("expected digits after the decimal point"));
            }
        }
        let offset_minutes = match p.next() {
            Some(b'Z' | b'z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let oh = p.digits(2)?;
                p.expect(b':')?;
                let om = p.digits(2)?;
                if oh > 23 || om > 59 {
                    return Err(TimestampError("time zone offset out of range"));
                }
                let m = oh * 60 + om;
                if sign == b'+' {
                    m
                } else {
                    -m
                }
            }
            _ => return Err(TimestampError("expected a time zone: Z or an offset such as +02:00")),
        };
        if p.i != b.len() {
            return Err(TimestampError("unexpected characters after the timestamp"));
        }
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(TimestampError("date out of range"));
        }
        // 60 is allowed for leap seconds and folded into the next second, as JavaScript does.
        if hour > 23 || minute > 59 || second > 60 {
            return Err(TimestampError("time out of range"));
        }
        let days = days_from_civil(year, month, day);
        let ms = ((days * 24 + hour) * 60 + minute - offset_minutes) * 60_000 + second * 1000 + millis;
        if !(MIN_MS..=MAX_MS).contains(&ms) {
            return Err(TimestampError("timestamp out of range"));
        }
        Ok(Timestamp(ms))
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, always UTC, always milliseconds.
    pub fn to_rfc3339(self) -> String {
        let ms = self.0.clamp(MIN_MS, MAX_MS);
        let days = ms.div_euclid(86_400_000);
        let rem = ms.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            y,
            m,
            d,
            rem / 3_600_000,
            rem / 60_000 % 60,
            rem / 1000 % 60,
            rem % 1000
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += 1;
        c
    }
    fn expect(&mut self, c: u8) -> Result<(), TimestampError> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(TimestampError("expected an RFC 3339 timestamp such as 2024-01-20T10:30:00.000Z"))
        }
    }
    fn digits(&mut self, n: usize) -> Result<i64, TimestampError> {
        let mut v = 0i64;
        for _ in 0..n {
            match self.next() {
                Some(c @ b'0'..=b'9') => v = v * 10 + i64::from(c - b'0'),
                _ => return Err(TimestampError("expected an RFC 3339 timestamp such as 2024-01-20T10:30:00.000Z")),
            }
        }
        Ok(v)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the well-known era-based algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> String {
        Timestamp::parse(s).unwrap().to_rfc3339()
    }

    #[test]
    fn formats_epoch_and_known_instants() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(1_705_746_600_000).to_rfc3339(), "2024-01-20T10:30:00.000Z");
        assert_eq!(Timestamp(951_782_400_123).to_rfc3339(), "2000-02-29T00:00:00.123Z");
        assert_eq!(Timestamp(-1).to_rfc3339(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_utc_and_offsets_into_utc() {
        assert_eq!(parse("2024-01-20T10:30:00.000Z"), "2024-01-20T10:30:00.000Z");
        assert_eq!(parse("2024-01-20T10:30:00Z"), "2024-01-20T10:30:00.000Z");
        assert_eq!(parse("2024-01-20T12:30:00+02:00"), "2024-01-20T10:30:00.000Z");
        assert_eq!(parse("2024-01-20T00:30:00-05:30"), "2024-01-20T06:00:00.000Z");
        assert_eq!(parse("2024-01-20 10:30:00z"), "2024-01-20T10:30:00.000Z");
        assert_eq!(parse("2024-12-31T23:30:00-01:00"), "2025-01-01T00:30:00.000Z");
    }

    #[test]
    fn truncates_fractions_to_milliseconds() {
        assert_eq!(parse("2024-01-20T10:30:00.5Z"), "2024-01-20T10:30:00.500Z");
        assert_eq!(parse("2024-01-20T10:30:00.123456789Z"), "2024-01-20T10:30:00.123Z");
    }

    #[test]
    fn round_trips_every_day_of_a_leap_cycle() {
        let start = Timestamp::parse("1999-12-25T00:00:00Z").unwrap().0;
        for day in 0..(366 * 5) {
            let t = Timestamp(start + day * 86_400_000 + 12_345);
            assert_eq!(Timestamp::parse(&t.to_rfc3339()).unwrap(), t);
        }
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for bad in [
            "",
            "2024-01-20",
            "2024-01-20T10:30:00",
            "2024-1-20T10:30:00Z",
            "2024-02-30T10:30:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-20T24:00:00Z",
            "2024-01-20T10:30:00.Z",
            "2024-01-20T10:30:00+2:00",
            "2024-01-20T10:30:00+25:00",
            "2024-01-20T10:30:00Zjunk",
            "yesterday",
            "1705746600000",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
