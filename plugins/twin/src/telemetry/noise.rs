//! Deterministic pseudo-randomness for telemetry: every value is a hash of the cluster's seed
//! and names and times, so rendering never consumes `Cluster::rng` and a seed repeats exactly.

/// splitmix64's finaliser.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over a string, folded into `h`.
pub(crate) fn fold_str(h: u64, s: &str) -> u64 {
    let mut x = h ^ 0xCBF2_9CE4_8422_2325;
    for b in s.bytes() {
        x ^= u64::from(b);
        x = x.wrapping_mul(0x0100_0000_01B3);
    }
    mix64(x ^ (s.len() as u64))
}

/// A hash key built from parts; cheap to copy and extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key(pub u64);

impl Key {
    pub(crate) fn new(seed: u64) -> Key {
        Key(mix64(seed ^ 0x7465_6C65_6D65_7472))
    }
    pub(crate) fn s(self, part: &str) -> Key {
        Key(fold_str(self.0, part))
    }
    pub(crate) fn n(self, part: u64) -> Key {
        Key(mix64(self.0 ^ mix64(part)))
    }
    /// A time (seconds), bucketed to whole milliseconds so tiny float noise never matters.
    pub(crate) fn t(self, t: f64) -> Key {
        self.n((t * 1000.0).round() as i64 as u64)
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(self) -> f64 {
        (mix64(self.0) >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub(crate) fn range(self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// An index below `n` (0 when `n` is 0).
    pub(crate) fn below(self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (mix64(self.0 ^ 0x5151) % n as u64) as usize
        }
    }
    pub(crate) fn chance(self, p: f64) -> bool {
        self.unit() < p
    }
    pub(crate) fn pick<T>(self, items: &[T]) -> Option<&T> {
        items.get(self.below(items.len()))
    }
    /// A roughly normal value (sum of uniforms) with mean 0 and unit deviation.
    pub(crate) fn gauss(self) -> f64 {
        let s: f64 = (0..4).map(|i| self.n(900 + i).unit()).sum();
        (s - 2.0) * 1.732
    }
    /// `len` lowercase hex digits.
    pub(crate) fn hex(self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        let mut i = 0u64;
        while out.len() < len {
            let v = mix64(self.0 ^ mix64(i + 77));
            out.push_str(&format!("{v:016x}"));
            i += 1;
        }
        out.truncate(len);
        out
    }
    /// Alphanumeric id like the demo's product ids (`OLJCESPC7Z`).
    pub(crate) fn upper_id(self, len: usize) -> String {
        const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|i| ABC[self.n(i as u64 + 31).below(ABC.len())] as char)
            .collect()
    }
    /// A UUID-shaped string.
    pub(crate) fn uuid(self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
}

/// Event times of a stream with mean `rate` per second inside `(from, to]`, newest last,
/// at most `cap` of them (the newest). Deterministic in `key`.
pub(crate) fn poisson_times(key: Key, rate: f64, from: f64, to: f64, cap: usize) -> Vec<f64> {
    let mut out = Vec::new();
    if rate <= 0.0 || to <= from || cap == 0 {
        return out;
    }
    // Bucket so that the expected count per bucket is at most about 0.5 for rare streams,
    // and 1 s buckets with several events each for busy ones.
    let bucket = if rate >= 1.0 {
        1.0
    } else {
        (0.5 / rate).max(1.0)
    };
    let per_bucket = rate * bucket;
    let mut b = (to / bucket).floor() as i64;
    let first = (from / bucket).floor() as i64;
    let mut guard = 0usize;
    while b >= first && out.len() < cap && guard < 200_000 {
        guard += 1;
        let kb = key.n(b as u64);
        let whole = per_bucket.floor() as u64;
        let frac = per_bucket - whole as f64;
        let count = whole + u64::from(kb.n(1).chance(frac));
        let mut times: Vec<f64> = (0..count)
            .map(|i| (b as f64 + kb.n(10 + i).unit()) * bucket)
            .filter(|t| *t > from && *t <= to)
            .collect();
        times.sort_by(|a, c| c.total_cmp(a));
        for t in times {
            if out.len() < cap {
                out.push(t);
            }
        }
        b -= 1;
    }
    out.reverse();
    out
}

/// Times every `period` seconds (with a small jitter) inside `(from, to]`, the newest `cap`.
pub(crate) fn periodic_times(key: Key, period: f64, from: f64, to: f64, cap: usize) -> Vec<f64> {
    let mut out = Vec::new();
    if period <= 0.0 || to <= from {
        return out;
    }
    let phase = key.unit() * period;
    let mut k = ((to - phase) / period).floor();
    while out.len() < cap {
        let t = phase + k * period + key.n(k as i64 as u64).range(0.0, 0.02 * period.min(5.0));
        if t <= from {
            break;
        }
        if t <= to {
            out.push(t);
        }
        k -= 1.0;
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_repeat_and_differ() {
        let a = Key::new(1).s("geo").t(12.5);
        assert_eq!(a, Key::new(1).s("geo").t(12.5));
        assert_ne!(a, Key::new(2).s("geo").t(12.5));
        assert!((0.0..1.0).contains(&a.unit()));
        assert_eq!(a.hex(32).len(), 32);
    }

    #[test]
    fn poisson_is_bounded_and_sorted() {
        let t = poisson_times(Key::new(3), 20.0, 0.0, 1000.0, 50);
        assert_eq!(t.len(), 50);
        assert!(t.windows(2).all(|w| w[0] <= w[1]));
        assert!(t.iter().all(|x| *x > 0.0 && *x <= 1000.0));
        let rare = poisson_times(Key::new(3), 1.0 / 600.0, 0.0, 86_400.0, 1000);
        assert!(rare.len() > 50 && rare.len() < 300, "{}", rare.len());
    }

    #[test]
    fn periodic_has_the_cadence() {
        let t = periodic_times(Key::new(4), 10.0, 100.0, 200.0, 100);
        assert!(t.len() >= 9 && t.len() <= 11);
    }
}
