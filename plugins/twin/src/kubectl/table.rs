//! Text layout shared by kubectl's printers: Go's tabwriter (tables and describe), kubectl's
//! human durations and its time stamps.

use crate::cluster::SimTime;

/// Go's `text/tabwriter` with the given minimum width and padding (left aligned, spaces).
/// Lines hold cells separated by `\t`; the last cell of a line is not aligned.
pub fn tabwrite(text: &str, minwidth: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    format_block(
        &lines,
        0,
        lines.len(),
        &mut widths,
        minwidth,
        padding,
        &mut out,
    );
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn format_block(
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    minwidth: usize,
    padding: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut w = minwidth;
        while this < line1 && column + 1 < lines[this].len() {
            w = w.max(width(lines[this][column]) + padding);
            this += 1;
        }
        widths.push(w);
        format_block(lines, line0, this, widths, minwidth, padding, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(
    lines: &[Vec<&str>],
    line0: usize,
    line1: usize,
    widths: &[usize],
    out: &mut String,
) {
    for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() && j + 1 < line.len() {
                for _ in width(cell)..widths[j] {
                    out.push(' ');
                }
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
}

/// A kubectl table: headers and rows, columns three spaces apart, the last one unpadded.
pub fn table(headers: &[&str], rows: &[Vec<String>], no_headers: bool) -> String {
    let mut text = String::new();
    if !no_headers {
        text.push_str(&headers.join("\t"));
        text.push('\n');
    }
    for r in rows {
        text.push_str(&r.join("\t"));
        text.push('\n');
    }
    tabwrite(&text, 6, 3)
}

/// kubectl's `duration.HumanDuration`.
pub fn human_duration(secs: f64) -> String {
    let seconds = secs.floor() as i64;
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    } else if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{}h", hours / 24, h)
        };
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{}d", hours / 24 / 365, dy)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The age of something created at `t`, as of `now`.
pub fn age(now: SimTime, t: SimTime) -> String {
    human_duration(now - t)
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: u32,
}

fn civil(t: f64) -> Civil {
    let secs = t.floor() as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Civil {
        year: if month <= 2 { y + 1 } else { y },
        month,
        day,
        hour: (sod / 3600) as u32,
        minute: ((sod % 3600) / 60) as u32,
        second: (sod % 60) as u32,
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// `2026-01-13T12:30:06Z`, as the API serialises times.
pub fn rfc3339(t: SimTime) -> String {
    let c = civil(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `Tue, 13 Jan 2026 12:30:06 +0000`, as describe prints times.
pub fn rfc1123z(t: SimTime) -> String {
    let c = civil(t);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000",
        DAYS[c.weekday as usize % 7],
        c.day,
        MONTHS[(c.month as usize + 11) % 12],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// Parses `2026-01-13T12:30:06Z` back to unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<SimTime> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut tt = time
        .split(':')
        .map(|x| x.split('.').next().and_then(|v| v.parse::<i64>().ok()));
    let (h, mi, sec) = (tt.next()??, tt.next()??, tt.next()??);
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + mi * 60 + sec) as f64)
}

/// Parses a Go-style duration like `5m`, `1h30m`, `45s` into seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut num = String::new();
    let mut any = false;
    for ch in s.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            num.push(ch);
            continue;
        }
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += v * match ch {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            'd' => 86_400.0,
            _ => return None,
        };
        any = true;
    }
    if !num.is_empty() {
        return None;
    }
    any.then_some(total)
}

/// A stable hash for deterministic read-side jitter (never the cluster's rng).
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_follow_kubectl() {
        assert_eq!(human_duration(45.0), "45s");
        assert_eq!(human_duration(119.0), "119s");
        assert_eq!(human_duration(192.0), "3m12s");
        assert_eq!(human_duration(180.0), "3m");
        assert_eq!(human_duration(15.0 * 60.0), "15m");
        assert_eq!(human_duration(2.0 * 3600.0 + 600.0), "130m");
        assert_eq!(human_duration(3.0 * 3600.0 + 600.0), "3h10m");
        assert_eq!(human_duration(20.0 * 3600.0), "20h");
        assert_eq!(human_duration(3.0 * 86400.0), "3d");
        assert_eq!(human_duration(5.0 * 86400.0 + 7200.0), "5d2h");
    }

    #[test]
    fn times_round_trip() {
        let t = 1_768_307_406.0;
        assert_eq!(rfc3339(t), "2026-01-13T12:30:06Z");
        assert_eq!(rfc1123z(t), "Tue, 13 Jan 2026 12:30:06 +0000");
        assert_eq!(parse_rfc3339("2026-01-13T12:30:06Z"), Some(t));
    }

    #[test]
    fn tabwriter_aligns_blocks() {
        let s = tabwrite("Name:\tx\nService Account:\ty\nIPs:\n  IP:\tz\n", 0, 2);
        assert_eq!(
            s,
            "Name:             x\nService Account:  y\nIPs:\n  IP:  z\n"
        );
    }
}
