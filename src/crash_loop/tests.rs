//! The backoff's arithmetic: doubling within the configured range, and no
//! overflow at the end of time. The backoff through the whole decision is
//! tested in `decision/crash_loop_tests.rs`.

use super::*;

#[test]
fn the_backoff_doubles_from_the_first_up_to_the_max() {
    let range = (Duration::from_secs(600), Duration::from_secs(7_200));
    let mut backoff = range.0;
    let mut seen = Vec::new();
    for _ in 0..6 {
        backoff = next_backoff(backoff, range);
        seen.push(backoff.as_secs() / 60);
    }
    assert_eq!(seen, [20, 40, 80, 120, 120, 120]);
    // A hand-edited or older backoff stays within the configured range.
    assert_eq!(next_backoff(Duration::ZERO, range), range.0);
    assert_eq!(next_backoff(Duration::from_secs(86_400), range), range.1);
    assert_eq!(next_backoff(Duration::MAX, range), range.1);
    assert_eq!(
        later(DateTime::<Utc>::MAX_UTC, range.1),
        DateTime::<Utc>::MAX_UTC
    );
}
