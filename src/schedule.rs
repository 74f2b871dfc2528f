//! The office-hours schedule: which status the user should have at a given
//! wall-clock time, and when that may next change.
//!
//! Time is a parameter: unix milliseconds plus the offset of the user's time
//! zone at that instant (the worker passes `Date.now()` and
//! `-getTimezoneOffset()`, or the schedule's own fixed offset). Priority:
//! holiday > break > office hours > outside office hours.
//!
//! The schedule switches the status only when its own answer changes
//! ([`Scheduler::tick`]): a status the user picks by hand at 10:00 stays
//! until the next boundary (the break at 12:00, say), as users expect.

use serde::{Deserialize, Serialize};

use crate::presence::Status;
use crate::protocol::presence::{Schedule, TimeRange};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
const DAY_MINUTES: u16 = 24 * 60;

/// `"HH:MM"` → minutes after midnight; `"24:00"` is the end of the day.
pub fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    let minutes = h.checked_mul(60)?.checked_add(m)?;
    (m < 60 && minutes <= DAY_MINUTES).then_some(minutes)
}

/// `"YYYY-MM-DD"` → days since 1970-01-01.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max = *month_days.get(usize::try_from(m - 1).ok()?)?;
    if !(1..=max).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn range(r: &TimeRange) -> Option<(u16, u16)> {
    Some((parse_time(&r.start)?, parse_time(&r.end)?))
}

/// Local day number, ISO weekday (1 = Monday) and minute of the day.
fn local(now_ms: i64, offset_minutes: i32) -> (i64, u8, u16) {
    let local = now_ms.saturating_add(i64::from(offset_minutes) * MINUTE_MS);
    let day = local.div_euclid(DAY_MS);
    let minute = (local.rem_euclid(DAY_MS) / MINUTE_MS) as u16;
    // 1970-01-01 was a Thursday.
    let weekday = (day + 3).rem_euclid(7) as u8 + 1;
    (day, weekday, minute)
}

/// The status the schedule gives at `now_ms`.
pub fn status_at(schedule: &Schedule, now_ms: i64, offset_minutes: i32) -> Status {
    let (day, weekday, minute) = local(now_ms, offset_minutes);
    let holiday = schedule.holidays.iter().any(|h| {
        matches!((parse_date(&h.from), parse_date(&h.to)), (Some(from), Some(to)) if (from..=to).contains(&day))
    });
    if holiday {
        return schedule.holiday_status;
    }
    if !schedule.days.contains(&weekday) {
        return schedule.outside_status;
    }
    let within = |r: &TimeRange| range(r).is_some_and(|(s, e)| s <= minute && minute < e);
    if schedule.break_time.as_ref().is_some_and(within) {
        return schedule.break_status;
    }
    if within(&schedule.office) {
        return schedule.office_status;
    }
    schedule.outside_status
}

/// The next instant after `now_ms` at which [`status_at`] may change: the
/// next office or break boundary, or local midnight (days and holidays
/// change there). The worker sets an alarm for it.
pub fn next_boundary(schedule: &Schedule, now_ms: i64, offset_minutes: i32) -> i64 {
    let (day, _, minute) = local(now_ms, offset_minutes);
    let offset_ms = i64::from(offset_minutes) * MINUTE_MS;
    let day_start = day * DAY_MS - offset_ms;
    let mut marks: Vec<u16> = Vec::new();
    for r in std::iter::once(&schedule.office).chain(schedule.break_time.as_ref()) {
        if let Some((s, e)) = range(r) {
            marks.push(s);
            marks.push(e);
        }
    }
    marks
        .into_iter()
        .filter(|m| *m > minute && *m < DAY_MINUTES)
        .min()
        .map(|m| day_start + i64::from(m) * MINUTE_MS)
        .unwrap_or(day_start + DAY_MS)
}

/// Remembers the schedule's last answer, stored with the presence so a
/// worker restart neither repeats nor misses a switch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduler {
    #[serde(default)]
    pub last: Option<Status>,
}

impl Scheduler {
    /// The status to switch to at `now_ms`, if the schedule's answer changed
    /// since the last tick. A disabled schedule switches nothing and forgets
    /// its answer, so enabling it applies the current period at once.
    pub fn tick(
        &mut self,
        schedule: &Schedule,
        now_ms: i64,
        offset_minutes: i32,
    ) -> Option<Status> {
        if !schedule.enabled {
            self.last = None;
            return None;
        }
        let status = status_at(schedule, now_ms, offset_minutes);
        (self.last.replace(status) != Some(status)).then_some(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::presence::Holiday;

    /// Monday 2026-11-23 00:00 UTC.
    fn monday() -> i64 {
        parse_date("2026-11-23").unwrap() * DAY_MS
    }

    fn at(day_offset: i64, hhmm: &str) -> i64 {
        monday() + day_offset * DAY_MS + i64::from(parse_time(hhmm).unwrap()) * MINUTE_MS
    }

    fn schedule() -> Schedule {
        Schedule {
            enabled: true,
            ..Schedule::default()
        }
    }

    #[test]
    fn times_and_dates_parse_strictly() {
        assert_eq!(parse_time("09:30"), Some(570));
        assert_eq!(parse_time("24:00"), Some(1440));
        for bad in ["9", "24:01", "12:60", "12:5", "ab:cd", "", "-1:00"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(
            parse_date("2024-02-29").map(|d| d - parse_date("2024-02-28").unwrap()),
            Some(1)
        );
        for bad in ["2023-02-29", "2026-13-01", "2026-1-01", "x", "2026-04-31"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        // 2026-11-23 is a Monday.
        assert_eq!(local(monday(), 0).1, 1);
    }

    #[test]
    fn a_working_day_goes_outside_office_break_office_outside() {
        let s = schedule();
        let day = [
            ("08:59", Status::OffWork),
            ("09:00", Status::Available),
            ("11:59", Status::Available),
            ("12:00", Status::LunchBreak),
            ("13:00", Status::Available),
            ("17:59", Status::Available),
            ("18:00", Status::OffWork),
        ];
        for (time, status) in day {
            assert_eq!(status_at(&s, at(0, time), 0), status, "{time}");
        }
        // Saturday is outside office hours all day.
        assert_eq!(status_at(&s, at(5, "10:00"), 0), Status::OffWork);
    }

    #[test]
    fn holidays_win_over_everything() {
        let mut s = schedule();
        s.holiday_status = Status::Away;
        s.holidays.push(Holiday {
            name: "Thanksgiving".into(),
            from: "2026-11-26".into(),
            to: "2026-11-27".into(),
        });
        assert_eq!(status_at(&s, at(3, "12:30"), 0), Status::Away);
        assert_eq!(status_at(&s, at(4, "10:00"), 0), Status::Away);
        assert_eq!(status_at(&s, at(2, "10:00"), 0), Status::Available);
    }

    #[test]
    fn local_time_follows_the_offset() {
        let s = schedule();
        // 09:00 in UTC+8 is 01:00 UTC.
        assert_eq!(status_at(&s, at(0, "01:00"), 480), Status::Available);
        assert_eq!(status_at(&s, at(0, "00:59"), 480), Status::OffWork);
        // 09:00 UTC is still Sunday 23:00 in UTC-10.
        assert_eq!(status_at(&s, at(0, "09:00"), -600), Status::OffWork);
    }

    #[test]
    fn boundaries_are_the_next_mark_or_midnight() {
        let s = schedule();
        assert_eq!(next_boundary(&s, at(0, "08:00"), 0), at(0, "09:00"));
        assert_eq!(next_boundary(&s, at(0, "09:00"), 0), at(0, "12:00"));
        assert_eq!(next_boundary(&s, at(0, "12:30"), 0), at(0, "13:00"));
        assert_eq!(next_boundary(&s, at(0, "18:00"), 0), at(1, "00:00"));
        // 08:00 UTC is 16:00 in UTC+8: office hours end at 18:00 local, 10:00 UTC.
        assert_eq!(next_boundary(&s, at(0, "08:00"), 480), at(0, "10:00"));
    }

    #[test]
    fn the_scheduler_switches_only_at_boundaries() {
        // 08:59 OffWork → 09:00 Available; a manual status at 10:00 is not
        // overridden at 10:01, only at the 12:00 break.
        let s = schedule();
        let mut sched = Scheduler::default();
        assert_eq!(sched.tick(&s, at(0, "08:59"), 0), Some(Status::OffWork));
        assert_eq!(sched.tick(&s, at(0, "08:59"), 0), None);
        assert_eq!(sched.tick(&s, at(0, "09:00"), 0), Some(Status::Available));
        assert_eq!(sched.tick(&s, at(0, "10:01"), 0), None);
        assert_eq!(sched.tick(&s, at(0, "12:00"), 0), Some(Status::LunchBreak));
        // Disabled: nothing, and re-enabling applies the current period.
        let off = Schedule::default();
        assert_eq!(sched.tick(&off, at(0, "13:00"), 0), None);
        assert_eq!(sched.tick(&s, at(0, "13:00"), 0), Some(Status::Available));
        // Stored and read back: no repeated switch after a worker restart.
        let json = serde_json::to_string(&sched).unwrap();
        let mut again: Scheduler = serde_json::from_str(&json).unwrap();
        assert_eq!(again.tick(&s, at(0, "13:05"), 0), None);
    }
}
