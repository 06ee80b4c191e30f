//! Wall-clock formats the logs use, from simulated unix seconds (UTC), without a date crate.

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

pub(crate) fn civil(t: f64) -> Civil {
    let micros_total = (t * 1_000_000.0).floor() as i64;
    let secs = micros_total.div_euclid(1_000_000);
    let micros = micros_total.rem_euclid(1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Civil {
        year: if m <= 2 { y + 1 } else { y },
        month: m,
        day: d,
        hour: (sod / 3600) as u32,
        minute: ((sod % 3600) / 60) as u32,
        second: (sod % 60) as u32,
        micros,
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

impl Civil {
    fn mon(&self) -> &'static str {
        MONTHS[(self.month as usize + 11) % 12]
    }
    fn wday(&self) -> &'static str {
        DAYS[self.weekday as usize % 7]
    }
    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
    fn hms(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

/// `2026-01-13T12:30:06Z` (zerolog console, Go JSON `time`).
pub(crate) fn rfc3339(t: f64) -> String {
    let c = civil(t);
    format!("{}T{}Z", c.date(), c.hms())
}

/// `2026-01-13T12:30:06.123Z`.
pub(crate) fn rfc3339_millis(t: f64) -> String {
    let c = civil(t);
    format!("{}T{}.{:03}Z", c.date(), c.hms(), c.micros / 1000)
}

/// `2026-01-13T12:30:06.123456789Z` (logrus, Rust tracing).
pub(crate) fn rfc3339_nanos(t: f64) -> String {
    let c = civil(t);
    format!(
        "{}T{}.{:06}{:03}Z",
        c.date(),
        c.hms(),
        c.micros,
        (c.micros * 7) % 1000
    )
}

/// MongoDB 4.4: `2026-01-13T12:30:06.123+00:00`.
pub(crate) fn mongo(t: f64) -> String {
    let c = civil(t);
    format!("{}T{}.{:03}+00:00", c.date(), c.hms(), c.micros / 1000)
}

/// Boost.Log: `2026-Sep-15 12:37:49.366394`.
pub(crate) fn boost(t: f64) -> String {
    let c = civil(t);
    format!(
        "{:04}-{}-{:02} {}.{:06}",
        c.year,
        c.mon(),
        c.day,
        c.hms(),
        c.micros
    )
}

/// Thrift / ctime: `Tue Sep 15 12:37:49 2026`.
pub(crate) fn ctime(t: f64) -> String {
    let c = civil(t);
    format!(
        "{} {} {:2} {} {}",
        c.wday(),
        c.mon(),
        c.day,
        c.hms(),
        c.year
    )
}

/// nginx error log: `2026/09/15 12:37:49`.
pub(crate) fn nginx_error(t: f64) -> String {
    let c = civil(t);
    format!("{:04}/{:02}/{:02} {}", c.year, c.month, c.day, c.hms())
}

/// nginx access log: `15/Sep/2026:12:37:49 +0000`.
pub(crate) fn nginx_access(t: f64) -> String {
    let c = civil(t);
    format!("{:02}/{}/{:04}:{} +0000", c.day, c.mon(), c.year, c.hms())
}

/// `2026-01-13 12:30:06.123` (log4j, Python logging with a dot).
pub(crate) fn space_millis(t: f64) -> String {
    let c = civil(t);
    format!("{} {}.{:03}", c.date(), c.hms(), c.micros / 1000)
}

/// `2026-01-13 12:30:06,123` (Locust, Kafka).
pub(crate) fn comma_millis(t: f64) -> String {
    let c = civil(t);
    format!("{} {},{:03}", c.date(), c.hms(), c.micros / 1000)
}

/// `12:30:06` (redis, memcached-like short stamps carry the date elsewhere).
pub(crate) fn redis(t: f64) -> String {
    let c = civil(t);
    format!(
        "{:02} {} {:04} {}.{:03}",
        c.day,
        c.mon(),
        c.year,
        c.hms(),
        c.micros / 1000
    )
}

/// Seconds with a fraction, as pino's and zap's epoch fields print them.
pub(crate) fn epoch_millis(t: f64) -> u64 {
    (t * 1000.0).floor().max(0.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2026-01-13T12:30:06Z is 1768307406.
        assert_eq!(rfc3339(1_768_307_406.0), "2026-01-13T12:30:06Z");
        assert_eq!(boost(1_789_475_869.25), "2026-Sep-15 12:37:49.250000");
        assert_eq!(ctime(1_789_475_869.0), "Tue Sep 15 12:37:49 2026");
        assert_eq!(mongo(0.5), "1970-01-01T00:00:00.500+00:00");
        assert_eq!(nginx_access(1_789_475_869.0), "15/Sep/2026:12:37:49 +0000");
    }
}
