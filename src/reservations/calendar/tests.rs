use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn cal(events: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{}END:VCALENDAR\r\n",
        events.replace('\n', "\r\n")
    )
}

fn window() -> (DateTime<Utc>, DateTime<Utc>) {
    (at("2026-11-20T00:00:00Z"), at("2026-12-20T00:00:00Z"))
}

const PARIS: Tz = chrono_tz::Europe::Paris;

#[test]
fn a_single_event_with_its_gateways() {
    let text = cal("BEGIN:VEVENT
UID:course-1@example.org
SUMMARY:Physics\\, year 1
DTSTART;TZID=Europe/Paris:20261123T140000
DTEND;TZID=Europe/Paris:20261123T160000
X-SCALER-GATEWAYS:40
END:VEVENT
");
    let out = expand(&text, chrono_tz::UTC, None, window()).unwrap();
    assert_eq!(out.notes, Vec::<String>::new());
    assert_eq!(
        out.bookings,
        [Booking {
            name: "course-1@example.org".into(),
            origin: Origin::Calendar,
            start: at("2026-11-23T13:00:00Z"),
            end: at("2026-11-23T15:00:00Z"),
            gateways: 40,
            note: Some("Physics, year 1".into()),
        }]
    );
}

#[test]
fn weekly_rule_with_exdate_override_and_dst() {
    // Mondays 14:00 Paris from 2026-10-19, five times; 2026-11-02 excluded,
    // 2026-11-09 moved to 15:00 with 10 gateways. 2026-10-25 ends summer time.
    let text = cal("BEGIN:VEVENT
UID:weekly
DTSTART;TZID=Europe/Paris:20261019T140000
DURATION:PT1H30M
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=Europe/Paris:20261102T140000
END:VEVENT
BEGIN:VEVENT
UID:weekly
RECURRENCE-ID;TZID=Europe/Paris:20261109T140000
DTSTART;TZID=Europe/Paris:20261109T150000
DTEND;TZID=Europe/Paris:20261109T160000
X-SCALER-GATEWAYS:10
END:VEVENT
");
    let wide = (at("2026-10-01T00:00:00Z"), at("2026-12-01T00:00:00Z"));
    let out = expand(&text, chrono_tz::UTC, Some(3), wide).unwrap();
    assert_eq!(out.notes, Vec::<String>::new());
    let got: Vec<(String, DateTime<Utc>, u32)> = out
        .bookings
        .iter()
        .map(|b| (b.name.clone(), b.start, b.gateways))
        .collect();
    assert_eq!(
        got,
        [
            // Summer time: 14:00 Paris is 12:00 UTC.
            (
                "weekly@2026-10-19T12:00:00Z".into(),
                at("2026-10-19T12:00:00Z"),
                3
            ),
            // Winter time: 14:00 Paris is 13:00 UTC.
            (
                "weekly@2026-10-26T13:00:00Z".into(),
                at("2026-10-26T13:00:00Z"),
                3
            ),
            (
                "weekly@2026-11-09T13:00:00Z".into(),
                at("2026-11-09T14:00:00Z"),
                10
            ),
            (
                "weekly@2026-11-16T13:00:00Z".into(),
                at("2026-11-16T13:00:00Z"),
                3
            ),
        ]
    );
    assert_eq!(out.bookings[1].end, at("2026-10-26T14:30:00Z"));
}

#[test]
fn expansion_is_bounded_by_the_window() {
    let text = cal("BEGIN:VEVENT
UID:daily
DTSTART:20200101T090000Z
DTEND:20200101T100000Z
RRULE:FREQ=DAILY
X-SCALER-GATEWAYS:2
END:VEVENT
");
    let (from, to) = (at("2026-11-23T09:30:00Z"), at("2026-11-26T00:00:00Z"));
    let out = expand(&text, chrono_tz::UTC, None, (from, to)).unwrap();
    let starts: Vec<_> = out.bookings.iter().map(|b| b.start).collect();
    // The one in progress at `from` counts; nothing after `to`.
    assert_eq!(
        starts,
        [
            at("2026-11-23T09:00:00Z"),
            at("2026-11-24T09:00:00Z"),
            at("2026-11-25T09:00:00Z")
        ]
    );
    let runaway = cal("BEGIN:VEVENT
UID:runaway
DTSTART:20261123T000000Z
DURATION:PT1S
RRULE:FREQ=SECONDLY
X-SCALER-GATEWAYS:1
END:VEVENT
");
    let out = expand(&runaway, chrono_tz::UTC, None, window()).unwrap();
    assert!(out.bookings.len() <= usize::from(MAX_OCCURRENCES) + 1);
    assert!(
        out.notes.iter().any(|n| n.contains("more than")),
        "{:?}",
        out.notes
    );
}

#[test]
fn unusable_events_are_left_out_with_a_note() {
    let text = cal("BEGIN:VEVENT
SUMMARY:no uid
DTSTART:20261123T090000Z
DTEND:20261123T100000Z
END:VEVENT
BEGIN:VEVENT
UID:no-count
DTSTART:20261123T090000Z
DTEND:20261123T100000Z
END:VEVENT
BEGIN:VEVENT
UID:bad-count
DTSTART:20261123T090000Z
DTEND:20261123T100000Z
X-SCALER-GATEWAYS:many
END:VEVENT
BEGIN:VEVENT
UID:bad-zone
DTSTART;TZID=Mars/Olympus:20261123T090000
DTEND;TZID=Mars/Olympus:20261123T100000
X-SCALER-GATEWAYS:1
END:VEVENT
BEGIN:VEVENT
UID:cancelled
STATUS:CANCELLED
DTSTART:20261123T090000Z
DTEND:20261123T100000Z
X-SCALER-GATEWAYS:1
END:VEVENT
BEGIN:VEVENT
UID:floating
DTSTART:20261123T090000
DTEND:20261123T100000
X-SCALER-GATEWAYS:1
END:VEVENT
");
    let out = expand(&text, PARIS, None, window()).unwrap();
    let names: Vec<_> = out.bookings.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["floating"]);
    // A floating time is in the schedule's timezone.
    assert_eq!(out.bookings[0].start, at("2026-11-23T08:00:00Z"));
    assert_eq!(out.notes.len(), 4, "{:?}", out.notes);
    for word in ["no UID", "no-count", "bad-count", "Mars/Olympus"] {
        assert!(
            out.notes.iter().any(|n| n.contains(word)),
            "{word}: {:?}",
            out.notes
        );
    }
    // With a default, the event without a count is kept.
    let out = expand(&text, PARIS, Some(5), window()).unwrap();
    assert!(
        out.bookings
            .iter()
            .any(|b| b.name == "no-count" && b.gateways == 5)
    );
}

#[test]
fn all_day_events_and_durations() {
    let text = cal("BEGIN:VEVENT
UID:day
DTSTART;VALUE=DATE:20261124
X-SCALER-GATEWAYS:1
END:VEVENT
");
    let out = expand(&text, PARIS, None, window()).unwrap();
    assert_eq!(out.bookings[0].start, at("2026-11-23T23:00:00Z"));
    assert_eq!(out.bookings[0].end, at("2026-11-24T23:00:00Z"));
    assert_eq!(parse_duration("P1W").unwrap(), chrono::Duration::days(7));
    assert_eq!(
        parse_duration("P1DT2H3M4S").unwrap(),
        chrono::Duration::seconds(86_400 + 7200 + 184)
    );
    for bad in ["", "1H", "PT", "PT1", "P1H", "PT1D"] {
        assert!(parse_duration(bad).is_err() || bad == "PT", "{bad}");
    }
}

#[test]
fn not_a_calendar_is_an_error() {
    assert!(expand("hello", chrono_tz::UTC, None, window()).is_err());
    assert!(expand("<html></html>", chrono_tz::UTC, None, window()).is_err());
}
