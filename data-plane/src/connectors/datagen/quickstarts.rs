//! Datagen's quickstarts: canned record shapes with a key field.
//!
//! Field names, types and value ranges follow upstream kafka-connect-datagen's
//! Avro schemas (`src/main/resources/*_schema.avro`), whose `arg.properties`
//! drive the avro-random-generator:
//! * `range` → uniform in `[min, max)`;
//! * `iteration` → `start + step * n`, where `n` counts this task's records;
//! * `options` → one of the listed values;
//! * `regex` → the simple `Prefix_[1-9][0-9]{0,2}` patterns, spelled out below.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

/// Timestamps of `users.registertime` and `orders.ordertime` (Feb 2017 – Feb 2018).
const TIME_RANGE: std::ops::Range<i64> = 1_487_715_775_521..1_519_273_364_600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quickstart {
    Orders,
    Users,
    Pageviews,
    StockTrades,
}

impl Quickstart {
    pub const ALL: [Quickstart; 4] = [
        Quickstart::Orders,
        Quickstart::Users,
        Quickstart::Pageviews,
        Quickstart::StockTrades,
    ];

    /// The names `quickstart` accepts (case-insensitively), as upstream spells them.
    pub const NAMES: &'static [&'static str] = &["ORDERS", "USERS", "PAGEVIEWS", "STOCK_TRADES"];

    pub fn name(&self) -> &'static str {
        match self {
            Quickstart::Orders => "ORDERS",
            Quickstart::Users => "USERS",
            Quickstart::Pageviews => "PAGEVIEWS",
            Quickstart::StockTrades => "STOCK_TRADES",
        }
    }

    /// Parses a `quickstart` value; case-insensitive like upstream's `toUpperCase()`.
    pub fn parse(name: &str) -> Option<Quickstart> {
        let name = name.trim();
        Quickstart::ALL
            .into_iter()
            .find(|q| q.name().eq_ignore_ascii_case(name))
    }

    /// The value field whose value becomes the record key.
    pub fn key_field(&self) -> &'static str {
        match self {
            Quickstart::Orders => "orderid",
            Quickstart::Users => "userid",
            Quickstart::Pageviews => "viewtime",
            Quickstart::StockTrades => "symbol",
        }
    }

    /// Generates the `iteration`-th record (0-based, per task) of this quickstart.
    pub fn generate(&self, rng: &mut StdRng, iteration: u64) -> Value {
        match self {
            Quickstart::Orders => orders(rng, iteration),
            Quickstart::Users => users(rng),
            Quickstart::Pageviews => pageviews(rng, iteration),
            Quickstart::StockTrades => stock_trades(rng),
        }
    }
}

/// `ksql.orders`: `orderid` is an int iterating from 0.
fn orders(rng: &mut StdRng, iteration: u64) -> Value {
    // An Avro int: wraps past i32::MAX like the Java generator's int arithmetic.
    let orderid = iteration as i32;
    json!({
        "ordertime": rng.gen_range(TIME_RANGE),
        "orderid": orderid,
        "itemid": format!("Item_{}{}", digits(rng, b'1', 1, 1), digits(rng, b'0', 0, 2)),
        "orderunits": rng.gen_range(0.1..10.0),
        "address": {
            "city": format!("City_{}", digits(rng, b'1', 0, 2)),
            "state": format!("State_{}", digits(rng, b'1', 0, 2)),
            "zipcode": rng.gen_range(10_000i64..99_999),
        },
    })
}

/// `ksql.users`.
fn users(rng: &mut StdRng) -> Value {
    json!({
        "registertime": rng.gen_range(TIME_RANGE),
        "userid": format!("User_{}", digits(rng, b'1', 1, 1)),
        "regionid": format!("Region_{}", digits(rng, b'1', 1, 1)),
        "gender": pick(rng, &["MALE", "FEMALE", "OTHER"]),
    })
}

/// `ksql.pageviews`: `viewtime` is a long iterating from 1 in steps of 10.
fn pageviews(rng: &mut StdRng, iteration: u64) -> Value {
    let viewtime = (iteration as i64).wrapping_mul(10).wrapping_add(1);
    json!({
        "viewtime": viewtime,
        "userid": format!("User_{}", digits(rng, b'1', 1, 1)),
        "pageid": format!("Page_{}{}", digits(rng, b'1', 1, 1), digits(rng, b'0', 1, 1)),
    })
}

/// `ksql.StockTrade`: `price` is in pennies.
fn stock_trades(rng: &mut StdRng) -> Value {
    json!({
        "side": pick(rng, &["BUY", "SELL"]),
        "quantity": rng.gen_range(1i32..5000),
        "symbol": pick(rng, &["ZBZX", "ZJZZT", "ZTEST", "ZVV", "ZVZZT", "ZWZZT", "ZXZZT"]),
        "price": rng.gen_range(5i32..1000),
        "account": pick(rng, &["ABC123", "LMN456", "XYZ789"]),
        "userid": format!("User_{}", digits(rng, b'1', 0, 1)),
    })
}

/// The regex `[<lo>-9]{min,max}`: between `min` and `max` digits, each from `lo` to 9.
fn digits(rng: &mut StdRng, lo: u8, min: usize, max: usize) -> String {
    let n = rng.gen_range(min..=max);
    (0..n)
        .map(|_| char::from(rng.gen_range(lo..=b'9')))
        .collect()
}

fn pick(rng: &mut StdRng, options: &[&'static str]) -> &'static str {
    options.choose(rng).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn sample(q: Quickstart, n: u64) -> Vec<Value> {
        let mut rng = StdRng::seed_from_u64(42);
        (0..n).map(|i| q.generate(&mut rng, i)).collect()
    }

    fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} not a string in {v}"))
    }

    fn matches_prefix_digits(s: &str, prefix: &str, lo: char, min: usize, max: usize) -> bool {
        s.strip_prefix(prefix).is_some_and(|rest| {
            (min..=max).contains(&rest.len()) && rest.chars().all(|c| (lo..='9').contains(&c))
        })
    }

    #[test]
    fn names_parse_case_insensitively() {
        assert_eq!(Quickstart::parse("orders"), Some(Quickstart::Orders));
        assert_eq!(
            Quickstart::parse(" Stock_Trades "),
            Some(Quickstart::StockTrades)
        );
        assert_eq!(Quickstart::parse("clickstream"), None);
        for q in Quickstart::ALL {
            assert!(Quickstart::NAMES.contains(&q.name()));
        }
    }

    #[test]
    fn every_quickstart_has_its_key_field() {
        for q in Quickstart::ALL {
            for v in sample(q, 20) {
                assert!(
                    !v[q.key_field()].is_null(),
                    "{q:?}: no {} in {v}",
                    q.key_field()
                );
            }
        }
    }

    #[test]
    fn orders_have_upstream_shape() {
        for (i, v) in sample(Quickstart::Orders, 500).iter().enumerate() {
            assert_eq!(
                v["orderid"].as_i64(),
                Some(i as i64),
                "orderid iterates from 0"
            );
            let t = v["ordertime"].as_i64().unwrap_or(0);
            assert!(TIME_RANGE.contains(&t), "ordertime {t}");
            let units = v["orderunits"].as_f64().unwrap_or(-1.0);
            assert!((0.1..10.0).contains(&units), "orderunits {units}");
            let item = str_field(v, "itemid");
            assert!(
                item.strip_prefix("Item_").is_some_and(|d| {
                    (1..=3).contains(&d.len())
                        && !d.starts_with('0')
                        && d.chars().all(|c| c.is_ascii_digit())
                }),
                "itemid {item}"
            );
            let addr = &v["address"];
            assert!(matches_prefix_digits(
                str_field(addr, "city"),
                "City_",
                '1',
                0,
                2
            ));
            assert!(matches_prefix_digits(
                str_field(addr, "state"),
                "State_",
                '1',
                0,
                2
            ));
            let zip = addr["zipcode"].as_i64().unwrap_or(0);
            assert!((10_000..99_999).contains(&zip), "zipcode {zip}");
            assert_eq!(v.as_object().map(|o| o.len()), Some(5));
        }
    }

    #[test]
    fn users_have_upstream_shape() {
        for v in sample(Quickstart::Users, 300) {
            assert!(matches_prefix_digits(
                str_field(&v, "userid"),
                "User_",
                '1',
                1,
                1
            ));
            assert!(matches_prefix_digits(
                str_field(&v, "regionid"),
                "Region_",
                '1',
                1,
                1
            ));
            assert!(["MALE", "FEMALE", "OTHER"].contains(&str_field(&v, "gender")));
            assert!(TIME_RANGE.contains(&v["registertime"].as_i64().unwrap_or(0)));
        }
    }

    #[test]
    fn pageviews_viewtime_steps_by_ten_from_one() {
        let views = sample(Quickstart::Pageviews, 4);
        let times: Vec<i64> = views
            .iter()
            .filter_map(|v| v["viewtime"].as_i64())
            .collect();
        assert_eq!(times, vec![1, 11, 21, 31]);
        for v in sample(Quickstart::Pageviews, 300) {
            let page = str_field(&v, "pageid");
            assert!(
                page.strip_prefix("Page_").is_some_and(|d| d.len() == 2
                    && !d.starts_with('0')
                    && d.chars().all(|c| c.is_ascii_digit())),
                "pageid {page}"
            );
        }
    }

    #[test]
    fn stock_trades_have_upstream_shape() {
        for v in sample(Quickstart::StockTrades, 300) {
            assert!(["BUY", "SELL"].contains(&str_field(&v, "side")));
            let q = v["quantity"].as_i64().unwrap_or(0);
            assert!((1..5000).contains(&q));
            let p = v["price"].as_i64().unwrap_or(0);
            assert!((5..1000).contains(&p));
            assert!(str_field(&v, "symbol").starts_with('Z'));
            assert!(matches_prefix_digits(
                str_field(&v, "userid"),
                "User_",
                '1',
                0,
                1
            ));
        }
    }
}
