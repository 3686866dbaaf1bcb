//! jieba's dictionary, one per process: the search index's word analysis, the classifier's
//! features and the grouping engine all cut words with it. A loaded dictionary takes about
//! 17 MB, and each of the three had kept its own copy (seen in a heap trace of `serve`).

use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;

static JIEBA: OnceLock<Arc<Jieba>> = OnceLock::new();

/// The process's dictionary, loaded on first use.
pub fn jieba() -> &'static Jieba {
    shared()
}

/// The same dictionary, for owners that keep an `Arc` (the grouping engine).
pub fn jieba_arc() -> Arc<Jieba> {
    Arc::clone(shared())
}

fn shared() -> &'static Arc<Jieba> {
    JIEBA.get_or_init(|| Arc::new(Jieba::new()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_user_gets_the_one_dictionary() {
        let owned = super::jieba_arc();
        assert!(std::ptr::eq(super::jieba(), &*owned));
        assert!(std::ptr::eq(super::jieba(), super::jieba()));
    }
}
