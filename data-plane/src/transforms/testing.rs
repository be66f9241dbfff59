//! Test helpers shared by the transform modules' unit tests.

use serde_json::{json, Value};

use super::Chain;
use crate::connectors::{Config, FieldError};
use crate::record::Record;

pub(crate) fn config(pairs: &[(&str, &str)]) -> Config {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A chain that must configure cleanly.
pub(crate) fn chain(pairs: &[(&str, &str)]) -> Chain {
    match Chain::from_config(&config(pairs)) {
        Ok(c) => c,
        Err(errors) => panic!("unexpected config errors: {errors:?}"),
    }
}

/// The errors of a config that must fail.
pub(crate) fn config_errors(pairs: &[(&str, &str)]) -> Vec<FieldError> {
    match Chain::from_config(&config(pairs)) {
        Ok(_) => panic!("config unexpectedly valid: {pairs:?}"),
        Err(errors) => errors,
    }
}

/// Runs `value` through the chain as a record value; the resulting value.
pub(crate) fn apply_value(chain: &Chain, value: Value) -> Option<Value> {
    let record = Record::new("orders", None, Some(value));
    match chain.apply(record) {
        Ok(out) => out.and_then(|r| r.value),
        Err(e) => panic!("transform failed: {e}"),
    }
}

/// A value shaped like Datagen's ORDERS quickstart.
pub(crate) fn orders_value(ordertime: i64) -> Value {
    json!({
        "ordertime": ordertime,
        "orderid": 18,
        "itemid": "Item_184",
        "orderunits": 4.699_140_193_426_011f64,
        "address": {"city": "City_75", "state": "State_13", "zipcode": 76_429}
    })
}
