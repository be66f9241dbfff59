//! Datagen's quickstarts: upstream kafka-connect-datagen's canned Avro
//! schemas (`src/main/resources/`, copied into `schemas/`) with the key
//! field of each, as upstream's `Quickstart` enum lists them.
//!
//! Provenance of the copies in `schemas/`:
//! * verbatim (whitespace aside) from upstream: orders, stock_trades,
//!   inventory, product, purchase, transactions, stores, credit_cards,
//!   campaign_finance, clickstream_codes, fleet_mgmt_description,
//!   fleet_mgmt_location, pizza_orders (+ _completed, _cancelled),
//!   insurance_customer_activity, gaming_games, gaming_player_activity,
//!   payroll_employee, payroll_employee_location, payroll_bonus, syslog_logs;
//!   device_information is upstream's `device.avro`;
//! * shoes, shoe_customers, shoe_orders, shoe_clickstream: upstream's fields
//!   and generators, with their long `options` lists abridged to the first
//!   83 products and 40 customers (orders and clicks refer to those ids);
//! * users, users_array_map, pageviews: upstream's shapes as documented
//!   (users_array_map after upstream's `users_array_map_schema_optional.avro`
//!   without the optional fields);
//! * clickstream, clickstream_users, ratings, fleet_mgmt_sensors: rebuilt
//!   from upstream's documented fields;
//! * insurance_offers, insurance_customers, gaming_players, siem_logs:
//!   upstream's files were not available; these keep upstream's names and
//!   key fields and join with their siblings (customer ids, player ids), the
//!   other fields are this service's.

use super::schema::{DatagenSchema, SchemaError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quickstart(usize);

struct Entry {
    name: &'static str,
    key_field: &'static str,
    file: &'static str,
    schema: &'static str,
}

macro_rules! quickstarts {
    ($($name:literal => $file:literal, $key:literal;)*) => {
        const TABLE: &[Entry] = &[$(Entry {
            name: $name,
            key_field: $key,
            file: $file,
            schema: include_str!(concat!("schemas/", $file)),
        },)*];

        impl Quickstart {
            /// The names `quickstart` accepts (case-insensitively), as upstream spells them.
            pub const NAMES: &'static [&'static str] = &[$($name,)*];
        }
    };
}

quickstarts! {
    "CLICKSTREAM_CODES" => "clickstream_codes_schema.avro", "code";
    "CLICKSTREAM" => "clickstream_schema.avro", "ip";
    "CLICKSTREAM_USERS" => "clickstream_users_schema.avro", "user_id";
    "ORDERS" => "orders_schema.avro", "orderid";
    "RATINGS" => "ratings_schema.avro", "rating_id";
    "USERS" => "users_schema.avro", "userid";
    "USERS_" => "users_array_map_schema.avro", "userid";
    "PAGEVIEWS" => "pageviews_schema.avro", "viewtime";
    "STOCK_TRADES" => "stock_trades_schema.avro", "symbol";
    "INVENTORY" => "inventory.avro", "id";
    "PRODUCT" => "product.avro", "id";
    "PURCHASES" => "purchase.avro", "id";
    "TRANSACTIONS" => "transactions.avro", "transaction_id";
    "STORES" => "stores.avro", "store_id";
    "CREDIT_CARDS" => "credit_cards.avro", "card_id";
    "CAMPAIGN_FINANCE" => "campaign_finance.avro", "candidate_id";
    "FLEET_MGMT_DESCRIPTION" => "fleet_mgmt_description.avro", "vehicle_id";
    "FLEET_MGMT_LOCATION" => "fleet_mgmt_location.avro", "vehicle_id";
    "FLEET_MGMT_SENSORS" => "fleet_mgmt_sensors.avro", "vehicle_id";
    "PIZZA_ORDERS" => "pizza_orders.avro", "store_id";
    "PIZZA_ORDERS_COMPLETED" => "pizza_orders_completed.avro", "store_id";
    "PIZZA_ORDERS_CANCELLED" => "pizza_orders_cancelled.avro", "store_id";
    "INSURANCE_OFFERS" => "insurance_offers.avro", "offer_id";
    "INSURANCE_CUSTOMERS" => "insurance_customers.avro", "customer_id";
    "INSURANCE_CUSTOMER_ACTIVITY" => "insurance_customer_activity.avro", "activity_id";
    "GAMING_GAMES" => "gaming_games.avro", "id";
    "GAMING_PLAYERS" => "gaming_players.avro", "player_id";
    "GAMING_PLAYER_ACTIVITY" => "gaming_player_activity.avro", "player_id";
    "PAYROLL_EMPLOYEE" => "payroll_employee.avro", "employee_id";
    "PAYROLL_EMPLOYEE_LOCATION" => "payroll_employee_location.avro", "employee_id";
    "PAYROLL_BONUS" => "payroll_bonus.avro", "employee_id";
    "SYSLOG_LOGS" => "syslog_logs.avro", "host";
    "DEVICE_INFORMATION" => "device_information.avro", "device_ip";
    "SIEM_LOGS" => "siem_logs.avro", "hostname";
    // Upstream lists `id`, which shoes.avro does not have; its key is `product_id`.
    "SHOES" => "shoes.avro", "product_id";
    "SHOE_CUSTOMERS" => "shoe_customers.avro", "id";
    "SHOE_ORDERS" => "shoe_orders.avro", "order_id";
    "SHOE_CLICKSTREAM" => "shoe_clickstream.avro", "product_id";
}

impl Quickstart {
    pub fn all() -> impl Iterator<Item = Quickstart> {
        (0..TABLE.len()).map(Quickstart)
    }

    /// Parses a `quickstart` value; case-insensitive like upstream's `toUpperCase()`.
    pub fn parse(name: &str) -> Option<Quickstart> {
        let name = name.trim();
        TABLE
            .iter()
            .position(|e| e.name.eq_ignore_ascii_case(name))
            .map(Quickstart)
    }

    fn entry(&self) -> &'static Entry {
        &TABLE[self.0]
    }

    pub fn name(&self) -> &'static str {
        self.entry().name
    }

    /// The value field whose value becomes the record key.
    pub fn key_field(&self) -> &'static str {
        self.entry().key_field
    }

    /// Upstream's resource file name.
    pub fn file(&self) -> &'static str {
        self.entry().file
    }

    /// The annotated Avro schema, as upstream ships it.
    pub fn schema_json(&self) -> &'static str {
        self.entry().schema
    }

    pub fn schema(&self) -> Result<DatagenSchema, SchemaError> {
        DatagenSchema::parse(self.schema_json())
    }
}

#[cfg(test)]
mod tests {
    use super::super::generator::Generator;
    use super::super::schema::Type;
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use serde_json::Value;

    fn quickstart(name: &str) -> Quickstart {
        Quickstart::parse(name).unwrap_or_else(|| panic!("no quickstart {name}"))
    }

    fn sample(name: &str, n: usize) -> Vec<Value> {
        let mut g = Generator::new(quickstart(name).schema().unwrap(), 0);
        let mut rng = StdRng::seed_from_u64(42);
        (0..n).map(|_| g.generate(&mut rng)).collect()
    }

    fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
        v[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} not a string in {v}"))
    }

    fn matches(pattern: &str, s: &str) -> bool {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .unwrap()
            .is_match(s)
    }

    #[test]
    fn names_parse_case_insensitively() {
        assert_eq!(
            Quickstart::parse("orders").map(|q| q.name()),
            Some("ORDERS")
        );
        assert_eq!(
            Quickstart::parse(" Stock_Trades ").map(|q| q.key_field()),
            Some("symbol")
        );
        assert_eq!(
            Quickstart::parse("users_").map(|q| q.name()),
            Some("USERS_")
        );
        assert_eq!(Quickstart::parse("weather"), None);
        assert_eq!(Quickstart::NAMES.len(), 38);
        assert_eq!(Quickstart::all().count(), Quickstart::NAMES.len());
    }

    /// Every quickstart: a valid Avro schema (checked by Apache's parser
    /// too), whose key field is a top-level field, generating 200 records
    /// that match the schema, each carrying its key.
    #[test]
    fn every_quickstart_generates_valid_records_with_its_key() {
        for q in Quickstart::all() {
            let name = q.name();
            apache_avro::Schema::parse_str(q.schema_json())
                .unwrap_or_else(|e| panic!("{name}: not valid Avro: {e}"));
            let schema = q.schema().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                schema.field(q.key_field()).is_some(),
                "{name}: key field {} is not a field",
                q.key_field()
            );
            let records = sample(name, 200);
            for r in &records {
                schema
                    .root
                    .check(r)
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    r.get(q.key_field()).is_some(),
                    "{name}: no {} in {r}",
                    q.key_field()
                );
            }
            // The generator varies: some field differs across the records.
            if !matches!(name, "CLICKSTREAM_CODES") {
                assert!(
                    records.iter().any(|r| r != &records[0]),
                    "{name}: all 200 records are the same"
                );
            }
        }
    }

    #[test]
    fn orders_have_upstream_shape() {
        for (i, v) in sample("ORDERS", 500).iter().enumerate() {
            assert_eq!(
                v["orderid"].as_i64(),
                Some(i as i64),
                "orderid iterates from 0"
            );
            let t = v["ordertime"].as_i64().unwrap_or(0);
            assert!(
                (1_487_715_775_521..1_519_273_364_600).contains(&t),
                "ordertime {t}"
            );
            let units = v["orderunits"].as_f64().unwrap_or(-1.0);
            assert!((0.1..10.0).contains(&units), "orderunits {units}");
            assert!(
                matches("Item_[1-9][0-9]{0,2}", str_field(v, "itemid")),
                "{v}"
            );
            let addr = &v["address"];
            assert!(matches("City_[1-9]{0,2}", str_field(addr, "city")), "{v}");
            assert!(matches("State_[1-9]{0,2}", str_field(addr, "state")), "{v}");
            let zip = addr["zipcode"].as_i64().unwrap_or(0);
            assert!((10_000..99_999).contains(&zip), "zipcode {zip}");
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                ["ordertime", "orderid", "itemid", "orderunits", "address"]
            );
        }
    }

    #[test]
    fn users_and_stock_trades_have_upstream_values() {
        for v in sample("USERS", 300) {
            assert!(matches("User_[1-9]", str_field(&v, "userid")), "{v}");
            assert!(matches("Region_[1-9]", str_field(&v, "regionid")), "{v}");
            assert!(["MALE", "FEMALE", "OTHER"].contains(&str_field(&v, "gender")));
        }
        for v in sample("STOCK_TRADES", 300) {
            assert!(["BUY", "SELL"].contains(&str_field(&v, "side")));
            let q = v["quantity"].as_i64().unwrap_or(0);
            assert!((1..5000).contains(&q));
            assert!(["ZBZX", "ZJZZT", "ZTEST", "ZVV", "ZVZZT", "ZWZZT", "ZXZZT"]
                .contains(&str_field(&v, "symbol")));
        }
    }

    #[test]
    fn pageviews_viewtime_steps_by_ten_from_one() {
        let times: Vec<i64> = sample("PAGEVIEWS", 4)
            .iter()
            .filter_map(|v| v["viewtime"].as_i64())
            .collect();
        assert_eq!(times, vec![1, 11, 21, 31]);
    }

    #[test]
    fn nested_arrays_maps_and_record_options_come_out_whole() {
        for v in sample("PIZZA_ORDERS", 100) {
            let lines = v["order_lines"].as_array().unwrap();
            assert!((1..5).contains(&lines.len()), "{v}");
            for l in lines {
                let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
                assert_eq!(
                    keys,
                    [
                        "product_id",
                        "category",
                        "quantity",
                        "unit_price",
                        "net_price"
                    ]
                );
            }
        }
        let users = sample("USERS_", 50);
        assert!(users
            .iter()
            .all(|u| u["interests"].as_array().is_some_and(|a| a.len() == 2)));
        assert!(users
            .iter()
            .all(|u| u["contactinfo"]["state"] == "CA" && u["contactinfo"]["city"].is_string()));
        let products = sample("PRODUCT", 50);
        assert!(products.iter().all(|p| {
            (10_000_000_001..=10_000_000_016).contains(&p["id"].as_i64().unwrap_or(0))
                && p["name"].is_string()
        }));
    }

    #[test]
    fn shoe_orders_refer_to_shoes_and_customers() {
        let ids = |name: &str, field: &str| -> Vec<String> {
            let schema = quickstart(name).schema().unwrap();
            match &schema.root.ty {
                Type::Record(_) => schema
                    .root
                    .args
                    .options
                    .clone()
                    .unwrap_or_default()
                    .iter()
                    .map(|o| o[field].as_str().unwrap_or_default().to_string())
                    .collect(),
                _ => vec![],
            }
        };
        let shoes = ids("SHOES", "product_id");
        let customers = ids("SHOE_CUSTOMERS", "id");
        assert!(!shoes.is_empty() && !customers.is_empty());
        for o in sample("SHOE_ORDERS", 100) {
            assert!(
                shoes.contains(&str_field(&o, "product_id").to_string()),
                "{o}"
            );
            assert!(
                customers.contains(&str_field(&o, "customer_id").to_string()),
                "{o}"
            );
        }
        for c in sample("SHOE_CLICKSTREAM", 100) {
            assert!(
                customers.contains(&str_field(&c, "user_id").to_string()),
                "{c}"
            );
        }
    }
}
