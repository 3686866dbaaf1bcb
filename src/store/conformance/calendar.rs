//! Conformance: the calendar years stored at runtime — read back in year order, a year stored
//! again replaces the old text, the version grows with every store, and a rolled-back store
//! leaves nothing.

use super::Open;
use crate::store::calendar::CalendarYear;

/// Runs every check of this area on fresh stores from `open`.
pub async fn run(open: Open) {
    years_read_back_in_order_and_a_second_store_replaces(open).await;
    a_rolled_back_store_leaves_nothing(open).await;
}

fn year(year: i32, text: &str, by: &str) -> CalendarYear {
    CalendarYear {
        year,
        text: text.into(),
        updated_by: by.into(),
        updated_at: format!("{year}-01-02T03:04:05.000Z"),
    }
}

async fn years_read_back_in_order_and_a_second_store_replaces(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    assert!(store.calendar_years().await.unwrap().is_empty());
    assert_eq!(store.calendar_version().await.unwrap(), 0);

    let mut tx = store.begin_decision().await.unwrap();
    tx.put_calendar_year(&year(2028, "year = 2028", "admin"))
        .await
        .unwrap();
    tx.put_calendar_year(&year(2027, "year = 2027", "admin"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let first = store.calendar_version().await.unwrap();
    assert!(first > 0, "a stored year moves the version from 0");
    let years = store.calendar_years().await.unwrap();
    assert_eq!(
        years,
        vec![
            year(2027, "year = 2027", "admin"),
            year(2028, "year = 2028", "admin")
        ]
    );

    let mut tx = store.begin_decision().await.unwrap();
    tx.put_calendar_year(&year(2027, "year = 2027 # corrected", "li"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        store.calendar_version().await.unwrap() > first,
        "storing a year again moves the version on"
    );
    let years = store.calendar_years().await.unwrap();
    assert_eq!(years.len(), 2, "a year is stored once: {years:?}");
    assert_eq!(years[0], year(2027, "year = 2027 # corrected", "li"));
}

async fn a_rolled_back_store_leaves_nothing(open: Open) {
    let fixture = open().await;
    let store = &fixture.store;
    let mut tx = store.begin_decision().await.unwrap();
    tx.put_calendar_year(&year(2027, "year = 2027", "admin"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.calendar_years().await.unwrap().is_empty());
    assert_eq!(store.calendar_version().await.unwrap(), 0);
}
