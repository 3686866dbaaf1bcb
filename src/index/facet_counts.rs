//! Facet counts of a search: how many of its matches fall in each channel, category, queue,
//! status and day of receipt — the same compiled query and filters as the hits (an
//! investigator's reach included), counted from the fast fields without scoring.

use std::collections::BTreeMap;

use chrono::{FixedOffset, NaiveDate};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentReader};

use super::query::compile;
use super::search::SearchRequest;
use super::{IndexError, SearchIndex};

/// The keyword fields counted, in the order of [`FacetCounts::keywords`].
pub const COUNTED_FIELDS: [&str; 4] = ["channel", "category", "queue", "status"];

/// The matches of a search per value of each counted field, most first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FacetCounts {
    /// (field, [(value, matches)]) for each of [`COUNTED_FIELDS`].
    pub keywords: Vec<(&'static str, Vec<(String, u64)>)>,
    /// Matches per local day of receipt (at the offset asked), by day.
    pub received_days: Vec<(NaiveDate, u64)>,
}

impl FacetCounts {
    /// The counts of `field` (one of [`COUNTED_FIELDS`]).
    pub fn of(&self, field: &str) -> &[(String, u64)] {
        self.keywords
            .iter()
            .find(|(name, _)| *name == field)
            .map_or(&[], |(_, counts)| counts.as_slice())
    }
}

impl SearchIndex {
    /// The facet counts of `request`'s matches (its paging ignored); days cut at `offset`.
    /// Blocking (tantivy): call from a blocking thread in async code.
    pub fn facet_counts(
        &self,
        request: &SearchRequest,
        offset: FixedOffset,
    ) -> Result<FacetCounts, IndexError> {
        let searcher = self.reader.searcher();
        let compiled = compile(self, &request.query, &request.filters);
        let tally = searcher.search(&compiled.matching, &FacetCollector { offset })?;
        let keywords = COUNTED_FIELDS
            .iter()
            .zip(tally.keywords)
            .map(|(field, counts)| {
                let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
                counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                (*field, counts)
            })
            .collect();
        Ok(FacetCounts {
            keywords,
            received_days: tally.days.into_iter().collect(),
        })
    }
}

/// What the segments count: per field, value → matches; day → matches.
#[derive(Default)]
struct Tally {
    keywords: Vec<BTreeMap<String, u64>>,
    days: BTreeMap<NaiveDate, u64>,
}

struct FacetCollector {
    offset: FixedOffset,
}

impl Collector for FacetCollector {
    type Fruit = Tally;
    type Child = SegmentFacets;

    fn for_segment(&self, _: u32, reader: &SegmentReader) -> tantivy::Result<SegmentFacets> {
        let fast = reader.fast_fields();
        let mut columns = Vec::with_capacity(COUNTED_FIELDS.len());
        for field in COUNTED_FIELDS {
            columns.push(fast.str(field)?);
        }
        Ok(SegmentFacets {
            ords: columns
                .iter()
                .map(|c| vec![0; c.as_ref().map_or(0, |c| c.num_terms())])
                .collect(),
            columns,
            received: fast.date("received_at")?,
            offset: self.offset,
            days: BTreeMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Tally>) -> tantivy::Result<Tally> {
        let mut all = Tally {
            keywords: vec![BTreeMap::new(); COUNTED_FIELDS.len()],
            days: BTreeMap::new(),
        };
        for fruit in fruits {
            for (into, from) in all.keywords.iter_mut().zip(fruit.keywords) {
                for (value, n) in from {
                    *into.entry(value).or_default() += n;
                }
            }
            for (day, n) in fruit.days {
                *all.days.entry(day).or_default() += n;
            }
        }
        Ok(all)
    }
}

struct SegmentFacets {
    columns: Vec<Option<StrColumn>>,
    /// Matches per term ordinal of each column.
    ords: Vec<Vec<u64>>,
    received: Column<tantivy::DateTime>,
    offset: FixedOffset,
    /// Matches per local day of receipt.
    days: BTreeMap<NaiveDate, u64>,
}

impl SegmentCollector for SegmentFacets {
    type Fruit = Tally;

    fn collect(&mut self, doc: DocId, _: Score) {
        for (column, counts) in self.columns.iter().zip(self.ords.iter_mut()) {
            if let Some(column) = column {
                for ord in column.term_ords(doc) {
                    if let Some(n) = counts.get_mut(ord as usize) {
                        *n += 1;
                    }
                }
            }
        }
        if let Some(at) = self.received.first(doc) {
            let secs = at.into_timestamp_secs() + i64::from(self.offset.local_minus_utc());
            let day = NaiveDate::from_num_days_from_ce_opt(
                i32::try_from(secs.div_euclid(86_400)).unwrap_or(0) + EPOCH_DAYS_FROM_CE,
            );
            if let Some(day) = day {
                *self.days.entry(day).or_default() += 1;
            }
        }
    }

    fn harvest(self) -> Tally {
        let mut keywords = Vec::with_capacity(self.columns.len());
        for (column, counts) in self.columns.iter().zip(self.ords) {
            let mut values = BTreeMap::new();
            if let Some(column) = column {
                let mut text = String::new();
                for (ord, n) in counts.into_iter().enumerate() {
                    if n == 0 {
                        continue;
                    }
                    text.clear();
                    if column.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                        *values.entry(text.clone()).or_default() += n;
                    }
                }
            }
            keywords.push(values);
        }
        Tally {
            keywords,
            days: self.days,
        }
    }
}

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::query::Filters;
    use crate::index::tests::{add, catch_up, store_and_index};
    use crate::store::facets::Facet;

    #[tokio::test(flavor = "multi_thread")]
    async fn facets_count_the_matches_within_the_reach() {
        let (_dir, store, index) = store_and_index().await;
        let routed = add(&store, "routed", "小区电梯坏了").await;
        let informing = add(&store, "informing", "小区电梯停运").await;
        let elsewhere = add(&store, "elsewhere", "小区电梯噪音").await;
        add(&store, "other", "路灯不亮").await;
        let mut tx = store.begin_derived().await.unwrap();
        let building = (Facet::Category, Some("城乡建设"));
        tx.set_facets(&routed, &[(Facet::Queue, Some("audit")), building])
            .await
            .unwrap();
        let informed = [
            (Facet::Queue, Some("finance")),
            (Facet::Informed, Some("audit")),
            building,
        ];
        tx.set_facets(&informing, &informed).await.unwrap();
        tx.set_facets(&elsewhere, &[(Facet::Queue, Some("finance"))])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        catch_up(&index, &store).await;
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        let count = |reach: Option<Vec<&str>>| {
            let request = SearchRequest {
                query: "电梯".into(),
                filters: Filters {
                    reach: reach.map(|r| r.into_iter().map(str::to_string).collect()),
                    ..Default::default()
                },
                limit: 1,
                ..Default::default()
            };
            index.facet_counts(&request, beijing).unwrap()
        };
        let all = count(None);
        let pairs = |v: &[(String, u64)]| -> Vec<(String, u64)> { v.to_vec() };
        assert_eq!(
            pairs(all.of("queue")),
            vec![("finance".to_string(), 2), ("audit".to_string(), 1)],
            "most first; the street-light complaint does not match"
        );
        assert_eq!(pairs(all.of("category")), vec![("城乡建设".to_string(), 2)]);
        assert_eq!(pairs(all.of("channel")), vec![("hotline".to_string(), 3)]);
        assert!(all.of("status").is_empty());
        let today = chrono::Utc::now().with_timezone(&beijing).date_naive();
        assert_eq!(all.received_days, vec![(today, 3)]);
        let audit = count(Some(vec!["audit"]));
        assert_eq!(
            pairs(audit.of("queue")),
            vec![("audit".to_string(), 1), ("finance".to_string(), 1)],
            "an investigator's counts are their reach's"
        );
        assert_eq!(audit.received_days, vec![(today, 2)]);
        assert!(
            count(Some(vec![])).of("channel").is_empty(),
            "no queue, no count"
        );
        store.close().await;
    }

    #[test]
    fn the_epoch_is_counted_from_the_common_era() {
        assert_eq!(
            NaiveDate::from_num_days_from_ce_opt(EPOCH_DAYS_FROM_CE),
            NaiveDate::from_ymd_opt(1970, 1, 1)
        );
    }
}
