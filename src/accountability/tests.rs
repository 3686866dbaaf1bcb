//! The request rules: a known unit, a configured measure, no decision after today (local), the
//! texts trimmed and bounded.

use chrono::{FixedOffset, NaiveDate, TimeZone, Utc};

use super::*;

fn request(unit: &str, measure: &str, decided_on: NaiveDate) -> AccountabilityRequest {
    AccountabilityRequest {
        unit: unit.into(),
        role: "  审批科科长 ".into(),
        measure: measure.into(),
        decided_on,
        deciding_body: "市监察局".into(),
        note: Some("   ".into()),
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn a_request_is_checked_against_the_queues_the_measures_and_local_today() {
    let routing = RoutingConfig::embedded().unwrap();
    let config = AccountabilityConfig::default();
    let rules = Rules {
        config: &config,
        routing: &routing,
        offset: FixedOffset::east_opt(8 * 3600).unwrap(),
    };
    // 20:00 UTC on 17 March is already 18 March in Beijing.
    let now = Utc.with_ymd_and_hms(2026, 3, 17, 20, 0, 0).unwrap();
    let fields = rules
        .fields(&request("finance", "通报批评", day(2026, 3, 18)), now)
        .unwrap();
    assert_eq!(fields.role, "审批科科长", "trimmed");
    assert_eq!(fields.note, None, "a blank note is none");
    assert_eq!(fields.decided_on, "2026-03-18");

    let tomorrow = rules.fields(&request("finance", "通报批评", day(2026, 3, 19)), now);
    assert!(
        matches!(tomorrow, Err(AccountabilityError::Invalid(ref m)) if m.contains("decided_on")),
        "{tomorrow:?}"
    );
    let measure = rules.fields(&request("finance", "罚款", day(2026, 3, 1)), now);
    match measure {
        Err(AccountabilityError::MeasureUnknown { measure, allowed }) => {
            assert_eq!(measure, "罚款");
            assert_eq!(allowed, config.measures);
        }
        other => panic!("{other:?}"),
    }
    let unit = rules.fields(&request("nowhere", "其他", day(2026, 3, 1)), now);
    assert!(
        matches!(unit, Err(AccountabilityError::UnitUnknown(_))),
        "{unit:?}"
    );
    let mut empty = request("finance", "其他", day(2026, 3, 1));
    empty.deciding_body = " ".into();
    let refused = rules.fields(&empty, now);
    assert!(
        matches!(refused, Err(AccountabilityError::Invalid(ref m)) if m.contains("deciding_body")),
        "{refused:?}"
    );
    let mut long = request("finance", "其他", day(2026, 3, 1));
    long.role = "长".repeat(201);
    assert!(rules.fields(&long, now).is_err());
}

#[test]
fn a_configured_list_replaces_the_default_measures() {
    let routing = RoutingConfig::embedded().unwrap();
    let config = AccountabilityConfig {
        queue: "supervision".into(),
        measures: vec!["约谈".into()],
    };
    let rules = Rules {
        config: &config,
        routing: &routing,
        offset: FixedOffset::east_opt(0).unwrap(),
    };
    let now = Utc.with_ymd_and_hms(2026, 3, 17, 20, 0, 0).unwrap();
    assert!(
        rules
            .fields(&request("finance", "约谈", day(2026, 3, 1)), now)
            .is_ok()
    );
    assert!(
        rules
            .fields(&request("finance", "效能告诫", day(2026, 3, 1)), now)
            .is_err()
    );
}
