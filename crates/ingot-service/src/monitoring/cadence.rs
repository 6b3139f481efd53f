//! When a monitoring schedule is due: `hourly`, `daily`, a five-field cron expression
//! (`minute hour day-of-month month day-of-week`, UTC, with `*`, `a`, `a-b`, `*/n`, `a-b/n` and
//! lists), or a fixed number of seconds. Pure: times are Unix milliseconds.

use std::fmt;

/// How often a schedule runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cadence {
    /// Every so many seconds after the previous run.
    Seconds(u64),
    /// At the minutes a cron expression matches.
    Cron(Cron),
}

/// A parsed five-field cron expression; each set is a bitmask of allowed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether day-of-month and day-of-week were both restricted (then either may match).
    either_day: bool,
    text: String,
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn field(text: &str, name: &str, lo: u32, hi: u32) -> Result<(u64, bool), String> {
    let mut mask = 0u64;
    let mut restricted = false;
    for part in text.split(',') {
        let bad = || format!("cron {name} field {text:?}: {part:?} is not a value in {lo}-{hi}");
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().map_err(|_| bad())?;
                if step == 0 {
                    return Err(bad());
                }
                (range, step)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else {
            restricted = true;
            match range.split_once('-') {
                Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
                None => {
                    let v: u32 = range.parse().map_err(|_| bad())?;
                    (v, if step > 1 { hi } else { v })
                }
            }
        };
        if step > 1 && range == "*" {
            restricted = true;
        }
        if a < lo || b > hi || a > b {
            return Err(bad());
        }
        let mut v = a;
        while v <= b {
            mask |= 1 << v;
            v += step;
        }
    }
    Ok((mask, restricted))
}

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week` (day-of-week 0–7, both 0 and 7 being
    /// Sunday).
    pub fn parse(text: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = parts[..] else {
            return Err(format!(
                "cron expression {text:?} needs 5 fields (minute hour day month weekday), got {}",
                parts.len()
            ));
        };
        let (minutes, _) = field(minute, "minute", 0, 59)?;
        let (hours, _) = field(hour, "hour", 0, 23)?;
        let (days, day_restricted) = field(day, "day-of-month", 1, 31)?;
        let (months, _) = field(month, "month", 1, 12)?;
        let (mut weekdays, weekday_restricted) = field(weekday, "day-of-week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes,
            hours,
            days,
            months,
            weekdays,
            either_day: day_restricted && weekday_restricted,
            text: parts.join(" "),
        })
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let by_day = self.days & (1 << day) != 0;
        let by_weekday = self.weekdays & (1 << weekday) != 0;
        if self.either_day {
            by_day || by_weekday
        } else {
            by_day && by_weekday
        }
    }

    /// The first matching minute strictly after `after_millis`, within ~4 years.
    pub fn next_after(&self, after_millis: i64) -> Option<i64> {
        const MINUTE: i64 = 60_000;
        const HOUR: i64 = 60 * MINUTE;
        const DAY: i64 = 24 * HOUR;
        let mut t = (after_millis.div_euclid(MINUTE) + 1) * MINUTE;
        let limit = after_millis + 4 * 366 * DAY;
        while t <= limit {
            let days = t.div_euclid(DAY);
            let (_, month, day) = civil_from_days(days);
            let weekday = (days + 4).rem_euclid(7) as u32;
            if self.months & (1 << month) == 0 || !self.day_matches(day, weekday) {
                t = (days + 1) * DAY;
                continue;
            }
            let hour = (t.rem_euclid(DAY) / HOUR) as u32;
            if self.hours & (1 << hour) == 0 {
                t = t.div_euclid(HOUR) * HOUR + HOUR;
                continue;
            }
            let minute = (t.rem_euclid(HOUR) / MINUTE) as u32;
            if self.minutes & (1 << minute) != 0 {
                return Some(t);
            }
            t += MINUTE;
        }
        None
    }
}

impl Cadence {
    /// `hourly`, `daily`, or a cron expression; `every_seconds` wins when given.
    pub fn parse(every: Option<&str>, every_seconds: Option<u64>) -> Result<Cadence, String> {
        if let Some(seconds) = every_seconds {
            if seconds == 0 {
                return Err("every_seconds must be at least 1".to_string());
            }
            return Ok(Cadence::Seconds(seconds));
        }
        match every.map(str::trim) {
            None | Some("") => Err("give \"every\" (hourly, daily or a cron expression) or \
                 \"every_seconds\""
                .to_string()),
            Some("hourly") => Cron::parse("0 * * * *").map(Cadence::Cron),
            Some("daily") => Cron::parse("0 0 * * *").map(Cadence::Cron),
            Some(text) => Cron::parse(text).map(Cadence::Cron),
        }
    }

    /// Whether a run is due at `now` when the previous one (or the schedule's creation) was at
    /// `last`.
    pub fn is_due(&self, last_millis: i64, now_millis: i64) -> bool {
        match self {
            Cadence::Seconds(s) => {
                now_millis.saturating_sub(last_millis) >= (*s as i64).saturating_mul(1000)
            }
            Cadence::Cron(cron) => cron
                .next_after(last_millis)
                .is_some_and(|t| t <= now_millis),
        }
    }
}

/// `(year, month, day)` of days since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Days since 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 UTC time as written by data capture (`2026-11-21T08:15:53.250Z`).
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let mi: i64 = t.next()?.parse().ok()?;
    let s: i64 = t.next()?.parse().ok()?;
    let millis: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + h) * 60 + mi) * 60_000 + s * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds of a UTC civil time, computed independently of the code under test by
    /// counting whole days from known anchors.
    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        parse_rfc3339(&format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00.000Z")).unwrap()
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-21T08:15:53.250Z"),
            Some(1_795_248_953_250)
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T23:59:59.000Z"),
            Some(951_868_799_000)
        );
        assert_eq!(parse_rfc3339("2000-02-29 23:59:59"), None);
        for days in [-1000, 0, 59, 11_016, 20_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn hourly_is_due_once_the_next_hour_starts() {
        let hourly = Cadence::parse(Some("hourly"), None).unwrap();
        let last = at(2026, 11, 21, 8, 15);
        assert!(!hourly.is_due(last, at(2026, 11, 21, 8, 59)));
        assert!(hourly.is_due(last, at(2026, 11, 21, 9, 0)));
        let Cadence::Cron(cron) = &hourly else {
            panic!("hourly is a cron cadence")
        };
        assert_eq!(cron.next_after(last), Some(at(2026, 11, 21, 9, 0)));
        // Exactly on a match, the next one is an hour later.
        assert_eq!(
            cron.next_after(at(2026, 11, 21, 9, 0)),
            Some(at(2026, 11, 21, 10, 0))
        );
    }

    #[test]
    fn daily_crosses_month_and_year_ends() {
        let Cadence::Cron(daily) = Cadence::parse(Some("daily"), None).unwrap() else {
            panic!("daily is a cron cadence")
        };
        assert_eq!(
            daily.next_after(at(2026, 12, 31, 23, 30)),
            Some(at(2027, 1, 1, 0, 0))
        );
        assert_eq!(
            daily.next_after(at(2028, 2, 28, 12, 0)),
            Some(at(2028, 2, 29, 0, 0))
        );
    }

    #[test]
    fn cron_fields_steps_ranges_lists_and_weekdays() {
        // Every 15 minutes during 9–17 on weekdays. 2026-11-21 is a Saturday.
        let cron = Cron::parse("*/15 9-17 * * 1-5").unwrap();
        assert_eq!(
            cron.next_after(at(2026, 11, 21, 10, 0)),
            Some(at(2026, 11, 23, 9, 0))
        );
        assert_eq!(
            cron.next_after(at(2026, 11, 23, 9, 0)),
            Some(at(2026, 11, 23, 9, 15))
        );
        assert_eq!(
            cron.next_after(at(2026, 11, 23, 17, 45)),
            Some(at(2026, 11, 24, 9, 0))
        );
        // Sundays as 7, and a list.
        let sundays = Cron::parse("5,35 2 * * 7").unwrap();
        assert_eq!(
            sundays.next_after(at(2026, 11, 21, 0, 0)),
            Some(at(2026, 11, 22, 2, 5))
        );
        // Day-of-month and day-of-week both restricted: either matches (the 1st, or a Monday).
        let either = Cron::parse("0 0 1 * 1").unwrap();
        assert_eq!(
            either.next_after(at(2026, 11, 21, 0, 0)),
            Some(at(2026, 11, 23, 0, 0))
        );
        assert_eq!(
            either.next_after(at(2026, 11, 30, 0, 0)),
            Some(at(2026, 12, 1, 0, 0))
        );
        // February 30 never comes.
        assert_eq!(Cron::parse("0 0 30 2 *").unwrap().next_after(0), None);
    }

    #[test]
    fn bad_expressions_are_refused_by_field() {
        for (text, needle) in [
            ("* * * *", "5 fields"),
            ("60 * * * *", "minute"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day-of-month"),
            ("* * * 13 *", "month"),
            ("* * * * 8", "day-of-week"),
            ("*/0 * * * *", "minute"),
            ("5-1 * * * *", "minute"),
        ] {
            let err = Cron::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        assert!(Cadence::parse(None, None).is_err());
        assert!(Cadence::parse(None, Some(0)).is_err());
    }

    #[test]
    fn seconds_cadence_counts_from_the_last_run() {
        let every = Cadence::parse(Some("hourly"), Some(30)).unwrap();
        assert_eq!(every, Cadence::Seconds(30));
        assert!(!every.is_due(1_000, 30_999));
        assert!(every.is_due(1_000, 31_000));
    }
}
