//! Property tests over every parser of untrusted input (SPEC §6.7): the
//! configuration, SIP URIs from the `location` and `dialog` tables,
//! durations and probe answers. Whatever the bytes, the parsers return a
//! value or an error naming the problem; they never panic. The case count is
//! bounded so CI spends a few seconds here.

use proptest::prelude::*;
use scaler::pool::Hosts;
use scaler::pool::media::locate;
use scaler::pool::sip::uri::SipUri;
use scaler::pool::sip::username_matches;
use std::path::Path;

const SAMPLE: &str = include_str!("../examples/sip.toml");

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_parser_never_panics_on_text(text in ".{0,400}") {
        let _ = scaler::config::parse(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn config_parser_never_panics_on_mutated_samples(
        cut in 0usize..4_000,
        len in 0usize..40,
        insert in "[ -~\n]{0,20}",
    ) {
        let mut text = SAMPLE.to_string();
        let start = cut.min(text.len());
        let end = (start + len).min(text.len());
        if text.is_char_boundary(start) && text.is_char_boundary(end) {
            text.replace_range(start..end, &insert);
        }
        let _ = scaler::config::parse(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn sip_uri_parsers_never_panic(uri in "(\"[a-z \\\\\"]{0,8}\" ?)?(<?[sS][iI][pP][sS]?:)?[a-zA-Z0-9.~:;=@\\[\\]<>%_?&\"-]{0,80}") {
        let _ = SipUri::parse(&uri).map(|u| u.alias());
        let _ = username_matches(&uri, "mediagw");
    }

    #[test]
    fn any_string_parses_or_fails_cleanly(text in "\\PC{0,60}") {
        let _ = SipUri::parse(&text).map(|u| u.alias());
        let _ = locate(text.as_bytes(), &Hosts::default());
        let _ = scaler::duration::parse(&text);
    }

    #[test]
    fn probe_answers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = scaler::probe::parse_status(&body, "capacity", "termination", true);
    }

    #[test]
    fn probe_json_answers_never_panic(termination in any::<i64>(), capacity in any::<i64>(), as_bool in any::<bool>()) {
        let body = if as_bool {
            format!("{{\"termination\": {}, \"capacity\": {capacity}}}", termination % 2 == 0)
        } else {
            format!("{{\"termination\": {termination}, \"capacity\": {capacity}}}")
        };
        let result = scaler::probe::parse_status(body.as_bytes(), "capacity", "termination", true);
        prop_assert_eq!(result.is_ok(), as_bool && capacity >= 0 && capacity <= i64::from(u32::MAX));
    }
}

#[test]
fn the_sample_itself_is_valid() {
    scaler::config::parse(SAMPLE, Path::new("examples/sip.toml")).unwrap();
}
