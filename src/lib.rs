//! complaint-gateway: one durable, searchable place for every complaint channel of a city
//! government.

pub mod grouping;
