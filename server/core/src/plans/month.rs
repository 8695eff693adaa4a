//! A calendar month in the company's time zone: what a routine plan, its quotas and its
//! deadline are counted in.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Self> {
        ((2000..=2999).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    /// The month `time` falls in, in `time_zone`.
    pub fn of(time: DateTime<Utc>, time_zone: Tz) -> Self {
        let local = time.with_timezone(&time_zone);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1 (January) to 12.
    pub fn number(self) -> u32 {
        self.month
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month before.
    pub fn previous(self) -> Self {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// How many days the month has (28 … 31).
    pub fn days(self) -> u32 {
        let next = self.next();
        NaiveDate::from_ymd_opt(next.year, next.month, 1)
            .and_then(|first| first.pred_opt())
            .map_or(28, |last| last.day())
    }

    /// The first instant of the month in `time_zone`.
    pub fn start(self, time_zone: Tz) -> DateTime<Utc> {
        self.day_start(1, time_zone)
    }

    /// The first instant of day `day` of the month in `time_zone` (`day` past the month's end
    /// continues into the next month, so `days() + 1` is the month's end).
    pub fn day_start(self, day: u32, time_zone: Tz) -> DateTime<Utc> {
        let midnight = NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .and_then(|first| first.checked_add_days(chrono::Days::new(u64::from(day.max(1) - 1))))
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .unwrap_or_default();
        // Midnight can fall in a daylight-saving gap in some zones; take the earliest valid time.
        time_zone
            .from_local_datetime(&midnight)
            .earliest()
            .map(|local| local.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
    }

    /// The first instant after the month.
    pub fn end(self, time_zone: Tz) -> DateTime<Utc> {
        self.next().start(time_zone)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{text:?} is not a month; write it as YYYY-MM, e.g. 2026-12");
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u32 = month.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        assert_eq!("2026-12".parse::<Month>().unwrap().to_string(), "2026-12");
        for bad in [
            "2026-13", "2026-00", "26-12", "2026-1", "2026/12", "", "abcd-ef", "1999-01",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_month_starts_at_local_midnight() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let december: Month = "2026-12".parse().unwrap();
        assert_eq!(
            december.start(shanghai).to_rfc3339(),
            "2026-11-30T16:00:00+00:00"
        );
        assert_eq!(december.next().to_string(), "2027-01");
        assert_eq!(december.end(shanghai), december.next().start(shanghai));
        let late_evening = "2026-11-30T17:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(Month::of(late_evening, shanghai), december);
    }

    #[test]
    fn months_know_their_length_and_neighbours() {
        let month = |text: &str| text.parse::<Month>().unwrap();
        assert_eq!(month("2027-02").days(), 28);
        assert_eq!(month("2028-02").days(), 29);
        assert_eq!(month("2026-04").days(), 30);
        assert_eq!(month("2026-12").days(), 31);
        assert_eq!(month("2027-01").previous(), month("2026-12"));
        assert_eq!(month("2026-12").previous(), month("2026-11"));
        let shanghai = chrono_tz::Asia::Shanghai;
        let april = month("2026-04");
        assert_eq!(april.day_start(31, shanghai), april.end(shanghai));
        assert_eq!(
            april.day_start(30, shanghai).to_rfc3339(),
            "2026-04-29T16:00:00+00:00"
        );
    }
}
